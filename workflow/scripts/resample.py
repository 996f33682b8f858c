from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.audio import resample_recording

resample_recording(
    snakemake.input.recording,
    snakemake.output[0],
    snakemake.params.sample_rate,
    rebuild_nsp_sizes=snakemake.params.rebuild_nsp_sizes,
)
