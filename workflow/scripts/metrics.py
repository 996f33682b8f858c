from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.metrics import write_metrics

write_metrics(
    snakemake.input.predictions,
    snakemake.input.split,
    snakemake.input.threshold,
    snakemake.output[0],
    snakemake.params.kind,
    snakemake.params.bootstrap,
    snakemake.params.confidence,
    snakemake.params.seed,
    snakemake.params.min_n,
    snakemake.params.complete,
)
