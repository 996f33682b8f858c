"""Metrics against hand-computed cases, scikit-learn and scipy: point estimates, the
class-stratified speaker bootstrap with BCa, exact intervals, "n too small", and the summary
table, one row of which is recomputed independently."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score

from svd_explain.intervals import speaker_bootstrap_weights
from svd_explain.metrics import (
    ROLES,
    check_predictions,
    evaluate_predictions,
    point_estimate,
    resampled_metric,
    split_metrics,
    summary_table,
    write_metrics,
    write_summary,
)
from svd_explain.thresholds import threshold_record


def make_split_table(n_speakers=60, sessions_per_speaker=1, seed=0):
    """A split table: speakers alternate healthy / pathological, sexes and categories mixed."""
    rng = np.random.default_rng(seed)
    rows = []
    for speaker in range(n_speakers):
        label = speaker % 2
        category = ("organic" if speaker % 4 == 1 else "non-organic") if label else "healthy"
        split = "test" if speaker % 5 == 0 else "dev" if speaker % 5 == 1 else "train"
        for visit in range(sessions_per_speaker):
            rows.append({
                "session_id": 1000 + speaker * 10 + visit, "speaker_id": speaker, "split": split, "label": label,
                "sex": "female" if (speaker // 2) % 2 else "male", "category": category,
            })
    table = pd.DataFrame(rows)
    table["age"] = np.where(table["label"] == 1, 55.0, 25.0) + rng.normal(0, 3, len(table))
    return table


def make_predictions(split, seed=0, noise=0.35):
    rng = np.random.default_rng(seed)
    score = np.clip(0.5 + (split["label"] - 0.5) * 0.6 + rng.normal(0, noise, len(split)), 0, 1)
    return pd.DataFrame({
        "session_id": split["session_id"], "split": split["split"], "label": split["label"],
        "score": score, "pred": (score >= 0.5).astype("int64"),
    })


def test_point_estimates_match_hand_computed_values():
    label = np.array([0, 0, 0, 0, 1, 1, 1])
    pred = np.array([0, 0, 0, 1, 1, 1, 0])
    score = np.array([0.1, 0.2, 0.3, 0.8, 0.7, 0.9, 0.2])
    assert point_estimate("sensitivity", label, score, pred) == pytest.approx(2 / 3)
    assert point_estimate("specificity", label, score, pred) == pytest.approx(3 / 4)
    assert point_estimate("uar", label, score, pred) == pytest.approx((2 / 3 + 3 / 4) / 2)
    # Positive–negative pairs ranked right: 0.7 beats 3 of 4, 0.9 all 4, 0.2 ties 0.2 (half) and beats 0.1.
    assert point_estimate("auc", label, score, pred) == pytest.approx((3 + 4 + 1.5) / 12)


def test_undefined_metrics_are_none():
    label, score, pred = np.array([1, 1]), np.array([0.2, 0.9]), np.array([0, 1])
    assert point_estimate("auc", label, score, pred) is None
    assert point_estimate("uar", label, score, pred) is None
    assert point_estimate("specificity", label, score, pred) is None
    assert point_estimate("sensitivity", label, score, pred) == 0.5


def test_resampled_metrics_equal_scikit_learn_with_weights():
    rng = np.random.default_rng(1)
    label = rng.integers(0, 2, 80)
    score = np.round(rng.random(80), 1)  # many ties
    pred = (score > 0.4).astype(int)
    weights = speaker_bootstrap_weights(rng.integers(0, 30, 80), 50, rng)
    auc = resampled_metric("auc", weights, label, score, pred)
    uar = resampled_metric("uar", weights, label, score, pred)
    for row in range(50):
        assert auc[row] == pytest.approx(roc_auc_score(label, score, sample_weight=weights[row]))
        assert uar[row] == pytest.approx(balanced_accuracy_score(label, pred, sample_weight=weights[row]))
    ones = np.ones((1, 80))
    assert resampled_metric("auc", ones, label, score, pred)[0] == pytest.approx(roc_auc_score(label, score))


def write_model(tmp_path, name, split, predictions, kind="ast", resamples=200, seed=13):
    """Predictions at their dev-chosen threshold, the threshold and the metrics JSON of one model."""
    dev = predictions["split"] == "dev"
    threshold = threshold_record(predictions.loc[dev, "label"].to_numpy(), predictions.loc[dev, "score"].to_numpy())
    predictions = predictions.assign(pred=(predictions["score"] >= threshold["threshold"]).astype("int64"))
    paths = {key: tmp_path / f"{name}.{suffix}" for key, suffix in
             (("predictions", "parquet"), ("threshold", "threshold.json"), ("metrics", "json"))}
    predictions.to_parquet(paths["predictions"])
    paths["threshold"].write_text(json.dumps(threshold))
    split.to_parquet(tmp_path / "split.parquet")
    write_metrics(paths["predictions"], tmp_path / "split.parquet", paths["threshold"], paths["metrics"], kind,
                  resamples, 0.95, seed)
    return paths


def test_intervals_contain_the_point_estimate_and_state_their_method_and_n():
    split = make_split_table(200)
    result = evaluate_predictions(make_predictions(split), split, resamples=300, seed=3)
    for name in ("test", "dev", "train"):
        for metric in ("uar", "auc", "sensitivity", "specificity", "recall_organic", "uar_female", "auc_male"):
            lo, hi = result[name][f"{metric}_ci"]
            assert lo <= result[name][metric] <= hi and lo < hi, (name, metric)
        assert result[name]["uar_interval"] == "speaker bootstrap, BCa"
        assert result[name]["sensitivity_interval"] == "Clopper-Pearson exact"
        assert result[name]["sensitivity_n"] == result[name]["n_pathological"]
        assert result[name]["uar_n"] == result[name]["n"]
    assert result["dev"]["role"] == ROLES["dev"] and "model selection" in result["dev"]["role"]


def test_intervals_are_grouped_by_speaker():
    """Five identical sessions per speaker carry no more information than one: the speaker
    bootstrap gives the same BCa interval (a session bootstrap would give a narrower one)."""
    one = make_split_table(100, 1)
    five = make_split_table(100, 5)
    one_pred = make_predictions(one)
    five_pred = five[["session_id", "split", "label"]].assign(
        score=np.repeat(one_pred["score"].to_numpy(), 5), pred=np.repeat(one_pred["pred"].to_numpy(), 5)
    )
    a = split_metrics(one_pred.merge(one.drop(columns=["split", "label"])), 200, 0.95, 5, (5, 0))
    b = split_metrics(five_pred.merge(five.drop(columns=["split", "label"])), 200, 0.95, 5, (5, 0))
    for metric in ("uar", "auc"):
        assert b[metric] == pytest.approx(a[metric])
        assert b[f"{metric}_ci"] == pytest.approx(a[f"{metric}_ci"])
    assert b["sensitivity_ci"] == pytest.approx(a["sensitivity_ci"], abs=0.02)
    assert b["n"] == 500 and b["n_speakers"] == 100


def test_small_cells_are_reported_as_n_too_small_not_as_degenerate_intervals():
    """Ten pathological sessions all detected: exact [0.69, 1], not [1, 1]; one healthy male:
    UAR for men is not reported."""
    table = pd.DataFrame({
        "speaker_id": range(16), "label": [1] * 10 + [0] * 6, "score": np.r_[np.linspace(0.6, 0.9, 10), np.linspace(0.1, 0.7, 6)],
        "sex": ["male"] * 5 + ["female"] * 5 + ["male"] + ["female"] * 5, "category": ["organic"] * 10 + ["healthy"] * 6,
    })
    table["pred"] = (table["score"] >= 0.55).astype(int)
    result = split_metrics(table, 300, 0.95, 5, (0, 0))
    assert result["sensitivity"] == 1.0 and result["sensitivity_ci"] == pytest.approx([0.025 ** 0.1, 1.0])
    assert result["uar_male"] is None and result["uar_male_ci"] is None
    assert result["notes"]["uar_male"].startswith("n too small: 1 healthy")
    assert result["recall_non_organic"] is None and "0 pathological" in result["notes"]["recall_non_organic"]
    assert result["uar"] is not None and result["auc_ci"] is not None  # 6 and 10 sessions: reported
    assert result["uar_ci"][0] < result["uar"] <= result["uar_ci"][1]


def test_every_resample_keeps_both_classes():
    """One pathological speaker in ten would be missing from about a third of unstratified
    resamples; stratified by class, none is, and none is dropped."""
    table = pd.DataFrame({
        "speaker_id": range(12), "label": [1, 1] + [0] * 10, "score": np.linspace(0.9, 0.0, 12),
        "pred": [1, 0] + [0] * 10, "sex": ["female"] * 12, "category": ["organic"] * 2 + ["healthy"] * 10,
    })
    result = split_metrics(table, 400, 0.95, 2, (0, 0))
    assert result["auc"] == 1.0 and result["auc_ci"] == [1.0, 1.0]
    assert result["auc_interval"].startswith("speaker bootstrap, percentile")  # every resample is 1
    assert result["uar_ci"][0] < result["uar_ci"][1]


def test_json_has_the_public_schema_and_is_reproducible(tmp_path):
    split = make_split_table(60)
    paths = write_model(tmp_path, "m", split, make_predictions(split), resamples=50)
    data = json.loads(paths["metrics"].read_text())
    assert list(data) == ["kind", "threshold", "unpredicted", "test", "dev", "train"]
    assert data["kind"] == "ast" and 0 < data["threshold"]["threshold"] < 1
    for name in ("test", "dev", "train"):
        values = data[name]
        assert isinstance(values["uar"], float) and isinstance(values["auc"], float)
        assert len(values["uar_ci"]) == 2 and len(values["auc_ci"]) == 2
        assert values["bootstrap"]["resamples"] == 50 and values["bootstrap"]["unit"] == "speaker"
    assert data["test"]["n"] == 12 and data["test"]["n_pathological"] == 6
    (tmp_path / "again").mkdir()
    again = write_model(tmp_path / "again", "m", split, make_predictions(split), resamples=50)
    assert json.loads(again["metrics"].read_text()) == data


def test_bad_predictions_raise():
    split = make_split_table(20)
    good = make_predictions(split)
    with pytest.raises(ValueError, match="have no prediction"):
        check_predictions(good.iloc[1:], split)
    with pytest.raises(ValueError, match="not in the split table"):
        check_predictions(pd.concat([good, good.iloc[:1].assign(session_id=1)]), split)
    with pytest.raises(ValueError, match="disagree with the split table on label"):
        check_predictions(good.assign(label=1 - good["label"]), split)
    with pytest.raises(ValueError, match="disagree with the split table on split"):
        check_predictions(good.assign(split="test"), split)
    with pytest.raises(ValueError, match="probabilities"):
        check_predictions(good.assign(score=np.nan), split)
    with pytest.raises(ValueError, match="probabilities"):
        check_predictions(good.assign(score=good["score"] + 2), split)
    with pytest.raises(ValueError, match="pred must be 0 or 1"):
        check_predictions(good.assign(pred=2), split)
    with pytest.raises(ValueError, match="predicted twice"):
        check_predictions(pd.concat([good, good.iloc[:1]]), split)
    with pytest.raises(ValueError, match="lack column"):
        check_predictions(good.drop(columns="score"), split)


def test_a_summary_row_recomputed_with_scikit_learn_and_scipy(tmp_path):
    """The test row of one model, from its predictions alone: UAR, sensitivity and specificity
    at the threshold, AUC, the exact intervals with scipy's binomtest, and the BCa intervals
    with scipy.stats.bootstrap over the speakers of each class and scikit-learn's metrics."""
    split = make_split_table(120)
    paths = write_model(tmp_path, "m", split, make_predictions(split, noise=0.45), resamples=300, seed=21)
    write_summary({"m": paths["metrics"]}, tmp_path / "summary.tsv")
    row = pd.read_csv(tmp_path / "summary.tsv", sep="\t").set_index(["model", "split"]).loc[("m", "test")]
    predictions = pd.read_parquet(paths["predictions"])
    threshold = json.loads(paths["threshold"].read_text())["threshold"]
    test = predictions[predictions["split"] == "test"].merge(split[["session_id", "speaker_id"]])
    label, score = test["label"].to_numpy(), test["score"].to_numpy()
    pred = (score >= threshold).astype(int)
    assert row["threshold"] == pytest.approx(threshold, abs=1e-4)
    assert row["uar"] == pytest.approx(balanced_accuracy_score(label, pred), abs=1e-4)
    assert row["auc"] == pytest.approx(roc_auc_score(label, score), abs=1e-4)
    assert row["sensitivity"] == pytest.approx(recall_score(label, pred), abs=1e-4)
    exact = stats.binomtest(int(pred[label == 1].sum()), int((label == 1).sum())).proportion_ci(method="exact")
    assert [row["sensitivity_lo"], row["sensitivity_hi"]] == pytest.approx([exact.low, exact.high], abs=1e-4)
    assert row["sensitivity_n"] == (label == 1).sum() and row["n"] == len(test)
    # One session per speaker here: speaker indices per class are the bootstrap's data.
    healthy, pathological = np.flatnonzero(label == 0), np.flatnonzero(label == 1)
    for index, (metric, function) in enumerate((("uar", lambda s, p: balanced_accuracy_score(label[s], p[s])),
                                                ("auc", lambda s, p: roc_auc_score(label[s], score[s])))):
        reference = stats.bootstrap(
            (healthy, pathological), lambda h, q: function(np.r_[h, q], pred), n_resamples=300, method="BCa",
            vectorized=False, rng=np.random.default_rng([21, 0, index]), batch=250,
        )
        assert [row[f"{metric}_lo"], row[f"{metric}_hi"]] == pytest.approx(list(reference.confidence_interval), abs=1e-4)


def test_summary_has_a_row_per_model_and_split_with_roles(tmp_path):
    split = make_split_table(80)
    metrics = {}
    for i, kind in enumerate(("ast", "classical", "confound")):
        metrics[f"model_{i}"] = write_model(tmp_path, f"model_{i}", split, make_predictions(split, seed=i), kind, 50)["metrics"]
    table = write_summary(metrics, tmp_path / "summary.tsv")
    written = pd.read_csv(tmp_path / "summary.tsv", sep="\t")
    assert len(written) == len(table) == 6
    assert written["split"].tolist() == ["test"] * 3 + ["dev"] * 3
    assert written["kind"].tolist()[:3] == ["ast", "classical", "confound"]
    assert (written.loc[written["split"] == "dev", "role"] == ROLES["dev"]).all()
    for column in ("uar", "uar_lo", "uar_hi", "uar_n", "auc", "sensitivity_lo", "recall_organic_n", "threshold", "n"):
        assert written[column].notna().all(), column
    assert (written["uar_lo"] <= written["uar"]).all() and (written["uar"] <= written["uar_hi"]).all()


def test_summary_table_keeps_unreported_values_empty():
    values = {"role": ROLES["test"], "n": 3, "n_speakers": 3, "n_healthy": 1, "n_pathological": 2,
              "notes": {"uar": "n too small: 1 healthy session(s), at least 5 needed"}}
    for metric in ("uar", "auc", "sensitivity", "specificity", "recall_organic", "recall_non_organic", "uar_female", "uar_male"):
        values.update({metric: None, f"{metric}_ci": None, f"{metric}_n": 3, f"{metric}_interval": None})
    table = summary_table({"m": {"kind": "ast", "threshold": {"threshold": 0.5}, "test": values}})
    assert table.loc[0, "uar"] is None and table.loc[0, "uar_lo"] is None
    assert "uar: n too small" in table.loc[0, "note"]


def test_a_baseline_may_lack_sessions(tmp_path):
    split = make_split_table(60)
    predictions = make_predictions(split).iloc[3:]
    with pytest.raises(ValueError, match="have no prediction"):
        check_predictions(predictions, split)
    assert len(check_predictions(predictions, split, complete=False)) == len(split) - 3


