from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.explain_maps import write_maps

write_maps(
    "phone_occlusion",
    model_dir=snakemake.input.model,
    split_path=snakemake.input.split,
    audio_dir=snakemake.params.audio_dir,
    out_path=snakemake.output.maps,
    splits=snakemake.params.splits,
    batch_size=snakemake.params.batch_size,
    device=snakemake.params.device,
    alignment_dir=snakemake.params.alignment_dir,
    status_dir=snakemake.params.status_dir,
    effects_path=snakemake.output.effects,
    threads=snakemake.threads,
    occlusion_fill=snakemake.params.occlusion_fill,
)
