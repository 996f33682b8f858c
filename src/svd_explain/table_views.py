"""A results table as a page the report can show.

Snakemake's report displays images, PDF and HTML and offers every other file only as a download,
so a TSV registered as it is cannot be read in the report. Each registered table gets an HTML
view instead (rules/report.smk); the TSV beside it stays the file to load. Long tables (the
catalog, the per-recording features of a 2,000-recording run) show their first MAX_ROWS rows and
say so: the view is for reading, and the report must stay small enough to open."""
import base64
import html
from pathlib import Path

import numpy as np
import pandas as pd

MAX_ROWS = 200
STYLE = """
body { font-family: system-ui, sans-serif; font-size: 13px; margin: 0.5em; color: #222; }
h1 { font-size: 15px; margin: 0.2em 0; }
p.note { color: #555; margin: 0.2em 0 0.6em; }
table { border-collapse: collapse; }
th, td { padding: 2px 8px; border-bottom: 1px solid #ddd; white-space: nowrap; }
th { position: sticky; top: 0; background: #eef; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #f8f8f8; }
"""


def format_cell(value) -> str:
    """A cell as text: floats to 4 significant digits, missing values empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


# How the tables name a value's interval: `auc`, `auc_lo`, `auc_hi`; `lift`, `lift_low`,
# `lift_high`; `spearman_mean`, `spearman_ci_low`, `spearman_ci_high`; or `ci_low`, `ci_high`
# right after the value they belong to (`mean_effect`).
INTERVAL_SUFFIXES = (("_lo", "_hi"), ("_low", "_high"))


def with_intervals(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Each value and its interval as one column of text, "0.95 [0.73, 1]" (a summary of 42
    columns becomes one a reader can take in; the TSV keeps the numbers), and the names of the
    columns so merged."""
    columns = list(table.columns)
    merged, dropped = {}, set()
    for k, column in enumerate(columns):
        if not pd.api.types.is_numeric_dtype(table[column]) or column in dropped:
            continue
        bounds = [(f"{column}{low}", f"{column}{high}") for low, high in INTERVAL_SUFFIXES]
        if column.endswith("_mean"):
            bounds.append((column.removesuffix("_mean") + "_ci_low", column.removesuffix("_mean") + "_ci_high"))
        if columns[k + 1:k + 3] == ["ci_low", "ci_high"]:
            bounds.append(("ci_low", "ci_high"))
        for low, high in bounds:
            if low in table.columns and high in table.columns:
                merged[column] = (low, high)
                dropped |= {low, high}
                break
    out = table.copy()
    for column, (low, high) in merged.items():
        out[column] = [
            format_cell(value) + (f" [{format_cell(a)}, {format_cell(b)}]" if format_cell(a) or format_cell(b) else "")
            for value, a, b in zip(table[column], table[low], table[high])
        ]
    return out[[c for c in columns if c not in dropped]], list(merged)


def table_html(table: pd.DataFrame, title: str, source: str, max_rows: int = MAX_ROWS, image: bytes | None = None) -> str:
    """The page: a title, which file it shows (and how much of it), the PNG `image` drawn from
    it if there is one (a learning curve above its history), the table."""
    extent = f"{len(table)} rows × {len(table.columns)} columns"
    if len(table) > max_rows:
        extent += f"; the first {max_rows} rows are shown, the whole table is the file"
    readable, merged = with_intervals(table)
    if merged:
        extent += "; a value and its interval are shown together as value [low, high]"
    table, shown = readable, readable.head(max_rows)
    numeric = {c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])} | set(merged)
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for values in shown.itertuples(index=False):
        cells = "".join(
            f'<td class="number">{html.escape(format_cell(v))}</td>' if c in numeric
            else f"<td>{html.escape(format_cell(v))}</td>"
            for c, v in zip(table.columns, values)
        )
        rows.append(f"<tr>{cells}</tr>")
    body = "\n".join(rows)
    figure = (f'<p><img style="max-width: 100%" alt="{html.escape(title)}" '
              f'src="data:image/png;base64,{base64.b64encode(image).decode()}"></p>\n') if image else ""
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
        f'<p class="note">{html.escape(source)}: {extent}</p>\n{figure}'
        f"<table><thead><tr>{header}</tr></thead><tbody>\n{body}\n</tbody></table>\n</body></html>\n"
    )


def write_table_view(table_path: str, html_path: str, title: str, image_path: str | None = None,
                     max_rows: int = MAX_ROWS) -> None:
    """Write the view of the TSV at `table_path` (titled `title`, with the PNG at `image_path`
    above it if given) to `html_path`."""
    table = pd.read_csv(table_path, sep="\t", keep_default_na=False, na_values=[""])
    image = Path(image_path).read_bytes() if image_path else None
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    Path(html_path).write_text(table_html(table, title, table_path, max_rows, image), encoding="utf-8")
