"""The tables' HTML views in the report."""
import pandas as pd

from svd_explain.table_views import table_html, with_intervals, write_table_view


def test_values_and_their_intervals_are_shown_together_in_each_naming():
    table = pd.DataFrame({
        "model": ["a", "b"], "auc": [0.95, 0.5], "auc_lo": [0.73, float("nan")], "auc_hi": [1.0, float("nan")],
        "auc_n": [20, 20], "lift": [2.5, 1.0], "lift_low": [2.0, 0.9], "lift_high": [3.0, 1.1],
        "spearman_mean": [0.3, 0.1], "spearman_ci_low": [0.2, 0.0], "spearman_ci_high": [0.4, 0.2],
        "mean_effect": [0.12, -0.01], "ci_low": [0.05, -0.02], "ci_high": [0.2, 0.0], "note": ["", "n too small"],
    })
    readable, merged = with_intervals(table)
    assert merged == ["auc", "lift", "spearman_mean", "mean_effect"]
    assert list(readable.columns) == ["model", "auc", "auc_n", "lift", "spearman_mean", "mean_effect", "note"]
    assert readable["auc"].tolist() == ["0.95 [0.73, 1]", "0.5"]  # no interval: the value alone
    assert readable["mean_effect"].tolist() == ["0.12 [0.05, 0.2]", "-0.01 [-0.02, 0]"]
    # The table itself is left as it is.
    assert "auc_lo" in table.columns


def test_a_long_table_shows_its_first_rows_and_says_so(tmp_path):
    table = pd.DataFrame({"session_id": range(250), "score": [k / 250 for k in range(250)]})
    page = table_html(table, "Scores", "results/scores.tsv", max_rows=100)
    assert page.count("<tr>") == 101  # the header and 100 rows
    assert "250 rows × 2 columns; the first 100 rows are shown, the whole table is the file" in page
    assert '<td class="number">0.396</td>' in page and "<td class=\"number\">100</td>" not in page


def test_the_view_escapes_text_and_embeds_the_figure_it_is_given(tmp_path):
    tsv, png, page = tmp_path / "t.tsv", tmp_path / "t.png", tmp_path / "out" / "t.html"
    pd.DataFrame({"reason": ["<b>not aligned</b> & silent"], "n": [1]}).to_csv(tsv, sep="\t", index=False)
    png.write_bytes(b"\x89PNG fake")
    write_table_view(str(tsv), str(page), "Failed <alignments>", image_path=str(png))
    text = page.read_text()
    assert "&lt;b&gt;not aligned&lt;/b&gt; &amp; silent" in text and "<b>" not in text
    assert "<title>Failed &lt;alignments&gt;</title>" in text
    assert 'src="data:image/png;base64,iVBORyBmYWtl"' in text


def test_an_empty_table_is_a_page_with_its_header(tmp_path):
    tsv, page = tmp_path / "failed.tsv", tmp_path / "failed.html"
    tsv.write_text("session_id\treason\n")
    write_table_view(str(tsv), str(page), "Failed")
    text = page.read_text()
    assert "0 rows × 2 columns" in text and "<th>reason</th>" in text
