from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.align.accuracy import write_accuracy

write_accuracy(
    snakemake.input.statuses,
    snakemake.input.alignments,
    snakemake.params.truth_dir,
    snakemake.input.audio,
    snakemake.output.table,
    snakemake.output.figure,
)
