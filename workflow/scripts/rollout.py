from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.rollout import write_rollout

write_rollout(
    model_dir=snakemake.input.model,
    split_path=snakemake.input.split,
    audio_dir=snakemake.params.audio_dir,
    out_path=snakemake.output[0],
    splits=snakemake.params.splits,
    head_fusion=snakemake.params.head_fusion,
    tokens=snakemake.params.tokens,
    batch_size=snakemake.params.batch_size,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
