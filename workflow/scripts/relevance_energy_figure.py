from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.relevance_figures import write_energy_figure

write_energy_figure(
    recordings_path=snakemake.input.recordings,
    figure_path=snakemake.output[0],
    dpi=snakemake.params.dpi,
)
