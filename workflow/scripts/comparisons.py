from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.comparisons import write_comparisons

write_comparisons(
    dict(zip(snakemake.params.models, snakemake.input.predictions)),
    snakemake.input.split,
    snakemake.output[0],
    snakemake.params.bootstrap,
    snakemake.params.confidence,
    snakemake.params.min_n,
    snakemake.params.seed,
)
