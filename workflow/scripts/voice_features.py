from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.voice_features import extract_recording

extract_recording(snakemake.input.audio, snakemake.output[0], snakemake.wildcards.session)
