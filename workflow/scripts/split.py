from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.split import write_split

write_split(
    snakemake.input.catalog,
    snakemake.output.split,
    snakemake.output.table,
    snakemake.output.counts,
    snakemake.params.shares,
    snakemake.params.seed,
)
