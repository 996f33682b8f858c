from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.align.status import write_failed_table

write_failed_table(snakemake.input.statuses, snakemake.output[0])
