from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.checks.deletion import write_deletion

write_deletion(
    snakemake.wildcards.method,
    snakemake.wildcards.model,
    model_dir=snakemake.input.model,
    map_path=snakemake.input.maps,
    split_path=snakemake.input.split,
    audio_dir=snakemake.params.audio_dir,
    out_path=snakemake.output[0],
    splits=snakemake.params.splits,
    batch_size=snakemake.params.batch_size,
    device=snakemake.params.device,
    seed=snakemake.params.seed,
)
