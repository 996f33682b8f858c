from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.relevance import write_phone_relevance

write_phone_relevance(
    models=snakemake.params.models,
    npz_paths=snakemake.input.maps,
    split_path=snakemake.input.split,
    alignment_dir=snakemake.params.alignment_dir,
    status_dir=snakemake.params.status_dir,
    table_path=snakemake.output.table,
    excluded_path=snakemake.output.excluded,
    resamples=snakemake.params.bootstrap,
    confidence=snakemake.params.confidence,
    seed=snakemake.params.seed,
)
