"""Metrics against hand-computed cases and scikit-learn, the speaker bootstrap, the baselines,
the summary table and figures for 1 and 3 models, and the O / X / A / B cases."""
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from svd_explain.metrics import (
    baseline_predictions,
    case_table,
    check_predictions,
    evaluate_predictions,
    point_estimate,
    resampled_metric,
    speaker_bootstrap_weights,
    split_metrics,
    summary_table,
    write_cases,
    write_metrics,
    plot_summary,
    write_summary,
)


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


def test_bootstrap_weights_resample_whole_speakers():
    speakers = np.array([7, 7, 7, 3, 3, 9])
    weights = speaker_bootstrap_weights(speakers, 200, np.random.default_rng(0))
    assert weights.shape == (200, 6)
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 1] == weights[:, 2]).all()
    assert (weights[:, 3] == weights[:, 4]).all()
    # Three speakers drawn per resample: the speaker counts sum to 3.
    assert (weights[:, [0, 3, 5]].sum(axis=1) == 3).all()


def test_ci_contains_the_point_estimate():
    split = make_split_table(200)
    result = evaluate_predictions(make_predictions(split), split, resamples=300, seed=3)
    for name in ("test", "dev", "train"):
        for metric in ("uar", "auc", "sensitivity", "specificity", "recall_organic", "uar_female", "auc_male"):
            lo, hi = result[name][f"{metric}_ci"]
            assert lo <= result[name][metric] <= hi and lo < hi, (name, metric)


def test_ci_is_grouped_by_speaker():
    """Five identical sessions per speaker carry no more information than one: a speaker
    bootstrap gives the same interval (a session bootstrap would give a narrower one)."""
    one = make_split_table(100, 1)
    five = make_split_table(100, 5)
    one_pred = make_predictions(one)
    five_pred = five[["session_id", "split", "label"]].assign(
        score=np.repeat(one_pred["score"].to_numpy(), 5), pred=np.repeat(one_pred["pred"].to_numpy(), 5)
    )
    a = split_metrics(one_pred.merge(one.drop(columns=["split", "label"])), 200, 0.95, np.random.default_rng(5))
    b = split_metrics(five_pred.merge(five.drop(columns=["split", "label"])), 200, 0.95, np.random.default_rng(5))
    for metric in ("uar", "auc", "sensitivity"):
        assert b[metric] == pytest.approx(a[metric])
        assert b[f"{metric}_ci"] == pytest.approx(a[f"{metric}_ci"])
    assert b["n"] == 500 and b["n_speakers"] == 100


def test_resamples_without_both_classes_are_skipped_and_counted():
    # One pathological speaker among ten: about 35 % of resamples miss them.
    table = pd.DataFrame({
        "speaker_id": range(10), "label": [1] + [0] * 9, "score": np.linspace(0.9, 0.0, 10),
        "pred": [1] + [0] * 9, "sex": ["female"] * 10, "category": ["organic"] + ["healthy"] * 9,
    })
    result = split_metrics(table, 400, 0.95, np.random.default_rng(0))
    used = result["bootstrap"]["used"]
    assert 200 < used["auc"] < 330 and used["auc"] == used["uar"] == used["sensitivity"]
    assert used["specificity"] == 400
    assert result["auc"] == 1.0 and result["auc_ci"] == [1.0, 1.0]
    assert result["uar_male"] is None and result["uar_male_ci"] is None and used["uar_male"] == 0
    assert result["recall_non_organic"] is None


def test_json_has_the_public_schema(tmp_path):
    split = make_split_table(60)
    split.to_parquet(tmp_path / "split.parquet")
    make_predictions(split).to_parquet(tmp_path / "predictions.parquet")
    write_metrics(tmp_path / "predictions.parquet", tmp_path / "split.parquet", tmp_path / "m.json", 50, 0.9, 13)
    data = json.loads((tmp_path / "m.json").read_text())
    assert list(data) == ["test", "dev", "train"]
    for values in data.values():
        assert isinstance(values["uar"], float) and isinstance(values["auc"], float)
        assert len(values["uar_ci"]) == 2 and len(values["auc_ci"]) == 2
        assert values["bootstrap"]["resamples"] == 50 and values["bootstrap"]["confidence"] == 0.9
    assert data["test"]["n"] == 12 and data["test"]["n_pathological"] == 6
    # Same seed, same numbers.
    again = evaluate_predictions(make_predictions(split), split, 50, 0.9, 13)
    assert again["test"]["auc_ci"] == data["test"]["auc_ci"]


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


def test_age_baseline_is_fitted_on_train_only():
    split = make_split_table(100)
    catalog = split[["session_id", "age"]].copy()
    predictions, note = baseline_predictions(catalog, split, "age")
    assert note == ""
    result = evaluate_predictions(predictions, split, 50)
    assert result["test"]["uar"] > 0.95  # age separates the classes in every split
    # Reverse the age relation outside train: a train-fitted model must now fail there.
    flipped = catalog.copy()
    outside = split["split"] != "train"
    flipped.loc[outside, "age"] = 80 - flipped.loc[outside, "age"]
    predictions, _ = baseline_predictions(flipped, split, "age")
    result = evaluate_predictions(predictions, split, 50)
    assert result["train"]["uar"] > 0.95 and result["test"]["uar"] < 0.05


def test_sex_baseline_and_missing_ages():
    split = make_split_table(100)
    split["label"] = (split["sex"] == "male").astype(int)
    predictions, _ = baseline_predictions(split[["session_id", "age"]], split, "sex")
    assert (predictions["pred"] == predictions["label"]).all()
    catalog = split[["session_id", "age"]].copy()
    catalog.loc[:2, "age"] = np.nan
    predictions, note = baseline_predictions(catalog, split, "age")
    assert len(predictions) == len(split) - 3 and note.startswith("3 session(s) without age")


@pytest.mark.parametrize("n_models", [1, 3])
def test_summary_table_and_figures_for_any_number_of_models(tmp_path, n_models):
    split = make_split_table(80)
    split.drop(columns="age").to_parquet(tmp_path / "split.parquet")
    split[["session_id", "age"]].to_parquet(tmp_path / "sessions.parquet")
    metrics, predictions = {}, {}
    for i in range(n_models):
        name = f"model_{i}"
        predictions[name] = tmp_path / f"{name}.parquet"
        metrics[name] = tmp_path / f"{name}.json"
        make_predictions(split, seed=i, noise=0.2 + 0.2 * i).to_parquet(predictions[name])
        write_metrics(predictions[name], tmp_path / "split.parquet", metrics[name], 50, 0.95, 13)
    out = {key: tmp_path / "out" / name for key, name in
           (("summary", "summary.tsv"), ("baselines", "baselines.json"), ("baseline_predictions", "baselines.parquet"),
            ("roc", "roc.png"), ("confusion", "confusion.png"))}
    write_summary(metrics, predictions, tmp_path / "sessions.parquet", tmp_path / "split.parquet",
                  out["summary"], out["baselines"], out["baseline_predictions"], 50, 0.95, 13)
    plot_summary(metrics, predictions, tmp_path / "split.parquet", out["baselines"], out["baseline_predictions"],
                 out["roc"], out["confusion"], dpi=60)
    table = pd.read_csv(out["summary"], sep="\t")
    assert table["model"].tolist() == [*metrics, "age_only", "sex_only"]
    assert table["kind"].tolist() == ["model"] * n_models + ["baseline"] * 2
    for column in ("test_uar", "test_uar_lo", "test_uar_hi", "test_auc", "dev_auc_hi", "test_sensitivity",
                   "test_specificity", "test_recall_organic", "test_recall_non_organic", "test_n"):
        assert table[column].notna().all(), column
    assert (table["test_uar_lo"] <= table["test_uar"]).all() and (table["test_uar"] <= table["test_uar_hi"]).all()
    model_0 = json.loads(metrics["model_0"].read_text())
    assert table.loc[0, "test_auc"] == pytest.approx(model_0["test"]["auc"], abs=1e-4)
    # The synthetic ages separate the classes: the age-only row shows the confound.
    assert table.set_index("model").loc["age_only", "test_uar"] > 0.9
    assert set(json.loads(out["baselines"].read_text())) == {"age_only", "sex_only"}
    baselines = pd.read_parquet(out["baseline_predictions"])
    assert baselines.groupby("baseline").size().to_dict() == {"age_only": len(split), "sex_only": len(split)}
    assert out["roc"].stat().st_size > 1000 and out["confusion"].stat().st_size > 1000


def test_summary_refuses_a_model_named_like_a_baseline(tmp_path):
    with pytest.raises(ValueError, match="clash"):
        write_summary({"age_only": "x"}, {"age_only": "y"}, *[tmp_path / "z"] * 5, 10, 0.95, 1)


def test_summary_table_keeps_undefined_values_empty():
    result = {"test": {"n": 3, "uar": None, "uar_ci": None}}
    table = summary_table({"m": result}, {"m": "model"})
    assert table.loc[0, "test_uar"] is None and table.loc[0, "test_uar_lo"] is None and table.loc[0, "dev_n"] == 0


def predictions_for(case_rows, split="test"):
    return pd.DataFrame(case_rows, columns=["session_id", "label", "pred"]).assign(
        split=split, score=lambda t: t["pred"] * 0.8 + 0.1
    )


def test_cases_follow_the_definition(tmp_path):
    # session: label, freeze pred, finetuned pred -> case
    rows = {1: (1, 1, 1, "O"), 2: (0, 1, 1, "X"), 3: (1, 1, 0, "A"), 4: (0, 1, 0, "B"), 5: (0, 0, 0, "O")}
    freeze = predictions_for([(s, l, f) for s, (l, f, _, _) in rows.items()])
    finetuned = predictions_for([(s, l, t) for s, (l, _, t, _) in rows.items()])
    train = predictions_for([(9, 1, 0)], split="train")
    table = case_table(pd.concat([freeze, train]), pd.concat([finetuned, train]))
    assert table["session_id"].tolist() == [1, 2, 3, 4, 5]
    assert table["case"].tolist() == [case for *_, case in rows.values()]
    assert table["freeze_pred"].tolist() == [1, 1, 1, 1, 0] and table["finetuned_pred"].tolist() == [1, 1, 0, 0, 0]
    freeze.to_parquet(tmp_path / "f.parquet")
    finetuned.to_parquet(tmp_path / "t.parquet")
    write_cases(tmp_path / "f.parquet", tmp_path / "t.parquet", tmp_path / "cases.tsv", "ast_freeze", "ast_finetuned")
    written = pd.read_csv(tmp_path / "cases.tsv", sep="\t")
    assert written.columns.tolist() == ["session_id", "label", "case", "freeze_model", "freeze_score", "freeze_pred",
                                        "finetuned_model", "finetuned_score", "finetuned_pred"]
    assert set(written["freeze_model"]) == {"ast_freeze"}


def test_cases_refuse_mismatched_predictions():
    freeze = predictions_for([(1, 1, 1), (2, 0, 0)])
    with pytest.raises(ValueError, match="different sessions"):
        case_table(freeze, freeze.iloc[:1])
    with pytest.raises(ValueError, match="disagree on labels"):
        case_table(freeze, freeze.assign(label=1))
    with pytest.raises(ValueError, match="no test predictions"):
        case_table(freeze.assign(split="dev"), freeze.assign(split="dev"))
