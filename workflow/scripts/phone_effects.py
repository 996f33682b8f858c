from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.checks.phone_effects import write_phone_effects

write_phone_effects(
    snakemake.params.models,
    effect_paths=snakemake.input.effects,
    table_path=snakemake.output[0],
    resamples=snakemake.params.bootstrap,
    confidence=snakemake.params.confidence,
    seed=snakemake.params.seed,
)
