from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.cases import write_cases

write_cases(
    snakemake.input.freeze,
    snakemake.input.finetuned,
    snakemake.output[0],
    snakemake.params.freeze_model,
    snakemake.params.finetuned_model,
)
