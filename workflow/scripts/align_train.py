from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.align.training import train_aligner

train_aligner(
    snakemake.input.audio,
    snakemake.input.phrase,
    snakemake.input.lexicon,
    snakemake.output[0],
    em_iterations=snakemake.params.em_iterations,
    split_at=snakemake.params.split_at,
    max_gaussians=snakemake.params.max_gaussians,
    silence_probability=snakemake.params.silence_probability,
    sample_rate=snakemake.params.sample_rate,
    seed=snakemake.params.seed,
)
