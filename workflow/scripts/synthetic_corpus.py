from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.synth import write_corpus

write_corpus(
    snakemake.output.corpus,
    n_sessions=snakemake.params.n_sessions,
    layout=snakemake.params.layout,
    seed=snakemake.params.seed,
    perturbation_scale=snakemake.params.perturbation_scale,
    threads=snakemake.threads,
    lexicon=snakemake.input.lexicon,
    phrase=snakemake.input.phrase,
    categories=snakemake.input.categories,
    cue_phones=snakemake.params.cue_phones,
    cues_parquet=snakemake.output.cues,
    cues_tsv=snakemake.output.cues_tsv,
)
