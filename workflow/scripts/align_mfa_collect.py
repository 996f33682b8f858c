from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.align.mfa_outputs import collect_alignment

collect_alignment(
    snakemake.input.mfa,
    snakemake.wildcards.session,
    snakemake.input.audio,
    snakemake.output.textgrid,
    snakemake.output.status,
)
