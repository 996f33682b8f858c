from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.representation_figures import write_representation_figure

write_representation_figure(
    snakemake.input.embeddings,
    snakemake.input.split,
    snakemake.output[0],
    snakemake.wildcards.model,
    snakemake.params.perplexity,
    snakemake.params.seed,
    snakemake.params.dpi,
)
