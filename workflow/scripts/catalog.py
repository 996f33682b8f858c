from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.catalog import build_catalog

build_catalog(
    snakemake.params.metadata,
    snakemake.params.root,
    snakemake.output.sessions,
    snakemake.output.excluded,
    defects_table=snakemake.input.defects,
    **snakemake.params.catalog,
)
