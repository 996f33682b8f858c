from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.representations import write_probes

write_probes(
    dict(zip(snakemake.params.models, snakemake.input.embeddings)),
    snakemake.input.split,
    snakemake.output.table,
    snakemake.params.folds,
    snakemake.params.permutations,
    snakemake.params.seed,
)
