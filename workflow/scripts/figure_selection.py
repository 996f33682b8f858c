from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.cases import select_figure_sessions

select_figure_sessions(
    cases_path=snakemake.input.cases,
    out_path=snakemake.output[0],
    select=snakemake.params.select,
    n_per_case=snakemake.params.n_per_case,
    seed=snakemake.params.seed,
)
