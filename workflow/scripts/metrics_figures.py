from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.metrics import plot_summary

plot_summary(
    dict(zip(snakemake.params.models, snakemake.input.metrics)),
    dict(zip(snakemake.params.models, snakemake.input.predictions)),
    snakemake.input.split,
    snakemake.input.baselines,
    snakemake.input.baseline_predictions,
    snakemake.output.roc,
    snakemake.output.confusion,
    snakemake.params.dpi,
)
