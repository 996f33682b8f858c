from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.synth.figures import plot_examples

plot_examples(
    snakemake.input.corpus,
    snakemake.output[0],
    n_per_class=snakemake.params.n_per_class,
    seed=snakemake.params.seed,
    categories=snakemake.input.categories,
    cues_parquet=snakemake.input.cues,
)
