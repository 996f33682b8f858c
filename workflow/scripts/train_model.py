from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.train import train_model

train_model(
    base_dir=snakemake.input.base,
    split_path=snakemake.input.split,
    audio_dir=snakemake.params.audio_dir,
    model_dir=snakemake.output[0],
    work_dir=snakemake.params.work_dir,
    model_settings=dict(snakemake.params.model),
    training=dict(snakemake.params.training),
    seed=snakemake.params.seed,
    threads=snakemake.threads,
)
