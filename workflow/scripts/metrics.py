from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.metrics import write_metrics

write_metrics(
    snakemake.input.predictions,
    snakemake.input.split,
    snakemake.output[0],
    snakemake.params.bootstrap,
    snakemake.params.confidence,
    snakemake.params.seed,
)
