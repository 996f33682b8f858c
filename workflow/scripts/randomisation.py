from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.checks.randomisation import write_randomisation

write_randomisation(
    snakemake.wildcards.method,
    snakemake.wildcards.model,
    model_dir=snakemake.input.model,
    split_path=snakemake.input.split,
    audio_dir=snakemake.params.audio_dir,
    out_path=snakemake.output[0],
    recordings=snakemake.params.recordings,
    alignment_dir=snakemake.params.alignment_dir,
    status_dir=snakemake.params.status_dir,
    head_fusion=snakemake.params.head_fusion,
    tokens=snakemake.params.tokens,
    device=snakemake.params.device,
    seed=snakemake.params.seed,
    occlusion_fill=snakemake.params.occlusion_fill,
    ig_baseline=snakemake.params.ig_baseline,
)
