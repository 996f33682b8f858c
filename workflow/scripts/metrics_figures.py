from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.metrics_figures import plot_metrics

plot_metrics(
    dict(zip(snakemake.params.models, snakemake.input.metrics)),
    dict(zip(snakemake.params.models, snakemake.input.predictions)),
    snakemake.input.split,
    snakemake.output.roc,
    snakemake.output.confusion,
    snakemake.params.dpi,
)
