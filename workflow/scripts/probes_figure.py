from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.representation_figures import write_probes_figure

write_probes_figure(snakemake.input.table, snakemake.output[0], snakemake.params.dpi)
