"""The confound and classical baselines: fitted on train only, C and threshold chosen on dev,
missing values imputed and counted, and the rule helpers' copy of their names."""
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from svd_explain.baselines import BASELINES, CLASSICAL_BASELINES, CONFOUND_BASELINES, fit_baseline, write_baseline
from svd_explain.metrics import check_predictions, evaluate_predictions
from svd_explain.thresholds import choose_threshold

from test_metrics import make_split_table

ROOT = Path(__file__).resolve().parents[1]
GRID = [0.01, 0.1, 1.0, 10.0]


def features_for(split, informative=3, noise=20, seed=0):
    """A feature table: `informative` columns that shift with the label, `noise` that do not."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(len(split), informative + noise))
    values[:, :informative] += 1.5 * split["label"].to_numpy()[:, None]
    table = pd.DataFrame(values, columns=[f"f{i}" for i in range(values.shape[1])])
    return pd.concat([split[["session_id"]].reset_index(drop=True), table], axis=1).assign(note="")


def test_age_baseline_is_fitted_on_train_only():
    split = make_split_table(100)
    catalog = split[["session_id", "age"]].copy()
    predictions, record, _ = fit_baseline("age_only", split, GRID, catalog=catalog)
    assert record["note"] == "" and record["kind"] == "confound"
    assert evaluate_predictions(predictions, split, 50)["test"]["uar"] > 0.95  # age separates the classes
    # Reverse the age relation outside train: a train-fitted model must now fail there.
    flipped = catalog.copy()
    outside = split["split"] != "train"
    flipped.loc[outside, "age"] = 80 - flipped.loc[outside, "age"]
    predictions, _, _ = fit_baseline("age_only", split, GRID, catalog=flipped)
    train = predictions[predictions["split"] == "train"]
    assert roc_auc_score(train["label"], train["score"]) > 0.95
    test = predictions[predictions["split"] == "test"]
    assert roc_auc_score(test["label"], test["score"]) < 0.05


def test_sex_baseline_and_missing_ages():
    split = make_split_table(100)
    split["label"] = (split["sex"] == "male").astype(int)
    predictions, _, _ = fit_baseline("sex_only", split, GRID, catalog=split[["session_id", "age"]])
    assert (predictions["pred"] == predictions["label"]).all()
    catalog = split[["session_id", "age"]].copy()
    catalog.loc[:2, "age"] = np.nan
    predictions, record, _ = fit_baseline("age_only", split, GRID, catalog=catalog)
    assert len(predictions) == len(split) - 3 and record["note"].startswith("3 session(s) without age")
    check_predictions(predictions, split, complete=False)


@pytest.mark.parametrize("name", CLASSICAL_BASELINES)
def test_classical_baselines_choose_c_and_threshold_on_dev(tmp_path, name):
    split = make_split_table(200)
    features = features_for(split)
    features.loc[[0, 5, 9], "f1"] = np.nan  # imputed from the train median
    split.to_parquet(tmp_path / "split.parquet")
    features.to_parquet(tmp_path / "features.parquet")
    out = {key: tmp_path / f"{name}.{key}" for key in ("parquet", "json", "threshold.json")}
    write_baseline(name, tmp_path / "split.parquet", out["parquet"], out["json"], out["threshold.json"], GRID, 0,
                   features_parquet=tmp_path / "features.parquet")
    predictions = pd.read_parquet(out["parquet"])
    record = json.loads(out["json"].read_text())
    threshold = json.loads(out["threshold.json"].read_text())
    assert list(predictions.columns) == ["session_id", "split", "label", "score", "pred"]
    check_predictions(predictions, split)  # every session, scores in [0, 1]
    assert record["C"] == max(record["grid"], key=lambda g: (g["dev_auc"], -g["C"]))["C"]
    assert [g["C"] for g in record["grid"]] == GRID
    dev = predictions[predictions["split"] == "dev"]
    assert threshold["threshold"] == choose_threshold(dev["label"].to_numpy(), dev["score"].to_numpy())
    assert (predictions["pred"] == (predictions["score"] >= threshold["threshold"])).all()
    assert record["sessions_with_imputed_values"] == 3 and sum(record["imputed_values"].values()) == 3
    assert set(record["coefficients"]) == {f"f{i}" for i in range(23)}
    # The informative features carry the largest coefficients; the test split is separated.
    top = sorted(record["coefficients"], key=lambda f: -abs(record["coefficients"][f]))[:3]
    assert set(top) == {"f0", "f1", "f2"}
    assert evaluate_predictions(predictions, split, 50)["test"]["auc"] > 0.85


def test_rule_helpers_list_the_same_baselines():
    common = (ROOT / "rules" / "common.smk").read_text()
    confound = re.search(r"CONFOUND_BASELINES = (\[.*\])", common)[1]
    features = re.search(r"CLASSICAL_FEATURES = (\{.*?\})", common, re.DOTALL)[1]
    assert eval(confound) == list(CONFOUND_BASELINES)
    assert eval(features) == {name: BASELINES[name].features for name in CLASSICAL_BASELINES}
    schema = (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text()
    assert f"enum: [{', '.join(CLASSICAL_BASELINES)}]" in schema
