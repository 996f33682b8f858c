from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.checks.deletion import write_deletion_summary

write_deletion_summary(
    snakemake.input.curves,
    curves_path=snakemake.output.curves,
    table_path=snakemake.output.table,
    resamples=snakemake.params.bootstrap,
    confidence=snakemake.params.confidence,
    seed=snakemake.params.seed,
)
