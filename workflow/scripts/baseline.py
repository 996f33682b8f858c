from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.baselines import write_baseline

write_baseline(
    snakemake.wildcards.baseline,
    snakemake.input.split,
    snakemake.output.predictions,
    snakemake.output.model,
    snakemake.output.threshold,
    snakemake.params.c_grid,
    snakemake.params.seed,
    catalog_parquet=snakemake.input.get("catalog"),
    features_parquet=snakemake.input.get("features"),
)
