from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.pretrain import PretextSettings, write_pretext_checkpoint

write_pretext_checkpoint(
    output_dir=snakemake.output[0],
    architecture=dict(snakemake.params.architecture),
    settings=PretextSettings(**snakemake.params.pretext),
    seed=snakemake.params.seed,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
