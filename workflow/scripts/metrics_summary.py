from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.metrics import write_summary

write_summary(dict(zip(snakemake.params.models, snakemake.input.metrics)), snakemake.output.summary)
