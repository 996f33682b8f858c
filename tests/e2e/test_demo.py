"""The whole workflow on a tiny synthetic corpus, through the real snakemake."""
import json
import re

import numpy as np
import pandas as pd
import soundfile
import yaml

from .conftest import REPO, new_workdir, snakemake


def test_catalog_and_audio(finished_demo):
    results = finished_demo / "results"
    sessions = pd.read_parquet(results / "catalog" / "sessions.parquet")
    excluded = pd.read_csv(results / "catalog" / "excluded.tsv", sep="\t")
    summary = pd.read_csv(results / "corpus" / "synthetic" / "summary.csv")
    # Every session of the corpus is either in the catalog or excluded with a reason.
    assert set(sessions["session_id"]) | set(excluded["session_id"]) == set(summary["AufnahmeID"])
    assert excluded["reason"].str.len().gt(0).all()
    assert sessions["speaker_id"].is_unique
    for session in sessions["session_id"]:
        info = soundfile.info(results / "audio" / f"{session}.wav")
        assert (info.samplerate, info.channels) == (16000, 1)


def test_dry_run_on_a_fresh_directory_plans_up_to_the_catalog(tmp_path):
    result = snakemake(new_workdir(tmp_path / "fresh"), "-n", "--cores", "2")
    assert "synthetic_corpus" in result.stdout and "catalog" in result.stdout


def test_nothing_left_to_do_after_the_demo(finished_demo):
    result = snakemake(finished_demo, "-n", "--cores", "2")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_rollout_alone_plans_every_map_with_its_own_rule(finished_demo):
    """explain.methods [rollout]: no gradient explainer, and no rule but rollout's for its maps."""
    result = snakemake(finished_demo, "-n", "--cores", "2", "--forcerun", "rollout", "--config",
                       "explain={methods: [rollout]}", check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Ambiguous" not in output, output[-3000:]
    assert "rule rollout:" in output and "explanation_maps" not in output


def report_items(report):
    """{category: {item path}} of a Snakemake report, as its page lists them (`categories`)."""
    text = report.read_text(encoding="utf-8")
    start = text.index("categories = {") + len("categories = ")
    categories, _ = json.JSONDecoder().raw_decode(text[start:])
    return {name: {path for paths in sub.values() for path in paths} for name, sub in categories.items()}


def readme_report_items():
    """{category: {item pattern}} from the README's table under "### The report"."""
    section = (REPO / "README.md").read_text().split("### The report", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return {category.strip(): set(re.findall(r"`([^`]+)`", items)) for category, items in rows}


def as_pattern(path, config):
    """An item's path with the configured names and session ids as the README writes them."""
    path = re.sub(r"/\d+\.png$", "/{session}.png", path)
    for method in config["explain"]["methods"]:
        path = path.replace(f"relevance/{method}/", "relevance/{method}/")
    for name, wildcard in [*((m, "model") for m in config["models"]),
                           *((b, "baseline") for b in ["age_only", "sex_only", *config["baselines"]["classical"]])]:
        path = re.sub(rf"/{name}(\.json|\.png|/)", rf"/{{{wildcard}}}\1", path)
    return path


def test_the_report_holds_every_item_the_readme_lists_and_no_other(finished_demo):
    report = finished_demo / "results" / "report.html"
    snakemake(finished_demo, "--report", str(report))
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    found = {category: {as_pattern(p, config) for p in paths} for category, paths in report_items(report).items()}
    assert found == readme_report_items()
    # Every item exists, and every table is shown as a page, not offered as a download.
    items = {p for paths in report_items(report).values() for p in paths}
    assert all((finished_demo / p).exists() for p in items)
    assert not [p for p in items if p.endswith((".tsv", ".csv", ".parquet"))]


def report_json(text, name):
    start = text.index(f"{name} = {{") + len(f"{name} = ")
    return json.JSONDecoder().raw_decode(text[start:])[0]


def test_every_toggle_in_the_report_has_both_of_its_values(finished_demo):
    """The report's page shows a label (other than the first) with two values, each on half of a
    subcategory's items, as a toggle, and then needs both values for every other combination of
    labels: a missing one breaks the page (it stays blank). The rule as the page's getData()
    applies it."""
    report = finished_demo / "results" / "report.html"
    if not report.exists():
        snakemake(finished_demo, "--report", str(report))
    text = report.read_text(encoding="utf-8")
    categories, results = report_json(text, "categories"), report_json(text, "results")
    broken = []
    for category, subcategories in categories.items():
        for subcategory, paths in subcategories.items():
            labelled = [results[p]["labels"] for p in paths]
            keys = list(dict.fromkeys(key for labels in labelled for key in labels))
            for key in keys[1:]:
                values = [labels[key] for labels in labelled if key in labels]
                if len(set(values)) == 2 and all(values.count(v) * 2 == len(paths) for v in set(values)):
                    others = {}
                    for labels in labelled:
                        rest = tuple(labels.get(k, "") for k in keys if k != key)
                        others.setdefault(rest, set()).add(labels.get(key))
                    broken += [(category, subcategory, rest, found) for rest, found in others.items() if found != set(values)]
    assert not broken, broken


def test_a_table_view_shows_the_table_with_its_intervals(finished_demo):
    summary = pd.read_csv(finished_demo / "results" / "metrics" / "summary.tsv", sep="\t")
    page = (finished_demo / "results" / "views" / "metrics" / "summary.html").read_text()
    row = summary.dropna(subset=["auc", "auc_lo", "auc_hi"]).iloc[0]
    assert f"{row['auc']:.4g} [{row['auc_lo']:.4g}, {row['auc_hi']:.4g}]" in page


def test_study_outputs_exist_and_agree(finished_demo):
    results = finished_demo / "results"
    split = pd.read_parquet(results / "split" / "split.parquet")
    assert split.groupby("speaker_id")["split"].nunique().eq(1).all()
    cases = pd.read_csv(results / "cases.tsv", sep="\t")
    assert set(cases["session_id"]) == set(split.loc[split["split"] == "test", "session_id"])
    assert set(cases["case"]) <= set("OXAB")
    for session in cases["session_id"]:
        assert (results / "figures" / "rollout" / f"{session}.png").stat().st_size > 10_000
        assert (results / "figures" / "explanations" / f"{session}.png").stat().st_size > 10_000
    summary = pd.read_csv(results / "metrics" / "summary.tsv", sep="\t")
    models = {"ast_freeze", "ast_finetuned", "age_only", "sex_only", "egemaps_svm", "egemaps_logreg", "praat_logreg", "logmel_logreg"}
    assert set(summary["model"]) == models and set(summary["split"]) == {"test", "dev"}
    assert summary["threshold"].between(0, 1).all() and summary["uar_n"].gt(0).all()
    assert summary.loc[summary["split"] == "dev", "role"].str.contains("model selection").all()
    comparisons = pd.read_csv(results / "metrics" / "comparisons.tsv", sep="\t")
    assert len(comparisons) == len(models) * (len(models) - 1) // 2
    probes = pd.read_csv(results / "representations" / "probes.tsv", sep="\t")
    assert (probes["sessions"] == "dev+test").all()
    assert (probes["n"] <= split["split"].isin(["dev", "test"]).sum()).all()
    features = pd.read_parquet(results / "features" / "praat.parquet")
    assert set(features["session_id"]) == set(split["session_id"])
    accuracy = pd.read_csv(results / "alignment" / "accuracy.tsv", sep="\t").set_index("phone")
    assert accuracy.loc["overall", "n"] > 0


def test_every_explainer_has_its_maps_statistics_and_checks(finished_demo):
    results = finished_demo / "results"
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    methods, models = config["explain"]["methods"], ["ast_freeze", "ast_finetuned"]
    test = set(pd.read_parquet(results / "split" / "split.parquet").query("split == 'test'")["session_id"])
    for method in methods:
        for model in models:
            with np.load(results / "maps" / method / f"{model}.npz", allow_pickle=False) as maps:
                assert {int(name.split(".")[0]) for name in maps.files} == test, (method, model)
        for table in ("phones", "spread", "energy"):
            assert (results / "relevance" / method / f"{table}.tsv").stat().st_size > 0, (method, table)
    expected = {(m, model) for m in methods for model in models}
    for check in ("localisation", "deletion", "randomisation"):
        table = pd.read_csv(results / "explanations" / f"{check}.tsv", sep="\t")
        assert set(zip(table["method"], table["model"])) == expected, check
        assert (results / "figures" / "explanations" / f"{check}.png").stat().st_size > 10_000
    randomisation = pd.read_csv(results / "explanations" / "randomisation.tsv", sep="\t")
    assert randomisation.groupby(["method", "model"])["passed"].nunique().eq(1).all()
    effects = pd.read_csv(results / "explanations" / "phone_effects.tsv", sep="\t")
    assert set(effects["model"]) == set(models) and effects["study"].any()
    occlusion = pd.read_parquet(results / "explanations" / "occlusion" / "ast_finetuned.parquet")
    assert set(occlusion["session_id"]) <= test and len(occlusion) > 0
