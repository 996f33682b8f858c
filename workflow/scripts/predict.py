from svd_explain.logs import job_label, log_to

log_to(snakemake.log[0], job=job_label(snakemake.rule, snakemake.wildcards))

from svd_explain.predict import predict

predict(
    model_dir=snakemake.input.model,
    split_path=snakemake.input.split,
    audio_dir=snakemake.params.audio_dir,
    predictions_path=snakemake.output.predictions,
    embeddings_path=snakemake.output.embeddings,
    threshold_path=snakemake.output.threshold,
    batch_size=snakemake.params.batch_size,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
