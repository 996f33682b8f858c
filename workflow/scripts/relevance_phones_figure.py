from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.relevance_figures import write_phones_figure

write_phones_figure(
    table_path=snakemake.input.table,
    models=snakemake.params.models,
    figure_path=snakemake.output[0],
    dpi=snakemake.params.dpi,
)
