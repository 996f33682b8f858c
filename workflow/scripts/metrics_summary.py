from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.metrics import write_summary

write_summary(
    dict(zip(snakemake.params.models, snakemake.input.metrics)),
    dict(zip(snakemake.params.models, snakemake.input.predictions)),
    snakemake.input.catalog,
    snakemake.input.split,
    snakemake.output.summary,
    snakemake.output.baselines,
    snakemake.output.baseline_predictions,
    snakemake.params.bootstrap,
    snakemake.params.confidence,
    snakemake.params.seed,
)
