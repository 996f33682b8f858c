from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.align.recording import align_recording

align_recording(
    snakemake.input.audio,
    snakemake.input.model,
    snakemake.input.phrase,
    snakemake.output.textgrid,
    snakemake.output.status,
    snakemake.wildcards.session,
)
