from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.checks.figures import FIGURES

FIGURES[snakemake.wildcards.check](snakemake.input.table, snakemake.output[0], dpi=snakemake.params.dpi)
