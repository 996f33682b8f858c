from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.ast_model import write_base_checkpoint

write_base_checkpoint(
    source=snakemake.params.source,
    max_length=snakemake.params.max_length,
    tiny=snakemake.params.tiny,
    seed=snakemake.params.seed,
    wav_paths=snakemake.input.audio,
    output_dir=snakemake.output[0],
    split_parquet=snakemake.input.split,
)
