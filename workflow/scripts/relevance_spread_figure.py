from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.relevance_figures import write_spread_figure

write_spread_figure(
    table_path=snakemake.input.table,
    recordings_path=snakemake.input.recordings,
    pair=snakemake.params.pair,
    figure_path=snakemake.output[0],
    dpi=snakemake.params.dpi,
)
