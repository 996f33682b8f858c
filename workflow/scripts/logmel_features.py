from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.logmel_features import write_logmel_table

write_logmel_table(snakemake.input.audio, snakemake.params.sessions, snakemake.input.checkpoint, snakemake.output[0])
