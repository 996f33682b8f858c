from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.checks.randomisation import write_randomisation_summary

write_randomisation_summary(snakemake.input.tables, snakemake.output[0])
