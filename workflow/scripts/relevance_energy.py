from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.relevance import write_energy

write_energy(
    models=snakemake.params.models,
    npz_paths=snakemake.input.maps,
    split_path=snakemake.input.split,
    table_path=snakemake.output.table,
    recordings_path=snakemake.output.recordings,
    resamples=snakemake.params.bootstrap,
    confidence=snakemake.params.confidence,
    seed=snakemake.params.seed,
)
