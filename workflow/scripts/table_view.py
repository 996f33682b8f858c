from pathlib import Path

from svd_explain.logs import log_to

log_to(snakemake.log[0])

from svd_explain.table_views import write_table_view

# A table inside a folder output (a model's history.tsv, its learning curve beside it) arrives
# as the folder and the names of its files.
folder, params = snakemake.input.table, snakemake.params
write_table_view(
    str(Path(folder, params.member)) if params.member else folder,
    snakemake.output[0],
    title=params.title,
    image_path=str(Path(folder, params.image_member)) if params.image_member else None,
)
