from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.explain_maps import write_maps

write_maps(
    snakemake.wildcards.method,
    model_dir=snakemake.input.model,
    split_path=snakemake.input.split,
    audio_dir=snakemake.params.audio_dir,
    out_path=snakemake.output[0],
    splits=snakemake.params.splits,
    batch_size=snakemake.params.batch_size,
    device=snakemake.params.device,
    tokens=snakemake.params.tokens,
    threads=snakemake.threads,
    ig_baseline=snakemake.params.ig_baseline,
)
