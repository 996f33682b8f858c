from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.figures import recording_figure

recording_figure(
    session=snakemake.wildcards.session,
    methods=snakemake.params.methods,
    models=snakemake.params.models,
    map_paths=snakemake.input.maps,
    prediction_paths=snakemake.input.predictions,
    split_path=snakemake.input.split,
    cases_path=snakemake.input.cases,
    alignment_path=snakemake.input.alignment,
    status_path=snakemake.input.status,
    out_paths=snakemake.output,
    dpi=snakemake.params.dpi,
    width_in=snakemake.params.width_in,
)
