from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.align.mfa import run_mfa

run_mfa(
    snakemake.input.audio,
    snakemake.input.sessions,
    snakemake.input.phrase,
    snakemake.output[0],
    mode=snakemake.params.mode,
    command=snakemake.params.command,
    dictionary=snakemake.params.dictionary,
    acoustic_model=snakemake.params.acoustic_model,
    num_jobs=snakemake.params.num_jobs,
)
