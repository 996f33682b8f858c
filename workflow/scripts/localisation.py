from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.checks.localisation import write_localisation

write_localisation(
    pairs=[tuple(pair) for pair in snakemake.params.pairs],
    map_paths=snakemake.input.maps,
    cues_path=snakemake.input.cues,
    split_path=snakemake.input.split,
    recordings_path=snakemake.output.recordings,
    table_path=snakemake.output.table,
    resamples=snakemake.params.bootstrap,
    confidence=snakemake.params.confidence,
    seed=snakemake.params.seed,
)
