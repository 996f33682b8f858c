from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.voice_features import write_feature_tables

write_feature_tables(
    snakemake.input.recordings,
    {"egemaps": snakemake.output.egemaps, "praat": snakemake.output.praat},
    {"egemaps": snakemake.output.egemaps_tsv, "praat": snakemake.output.praat_tsv},
)
