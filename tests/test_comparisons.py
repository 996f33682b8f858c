"""Paired comparisons: the differences against scikit-learn, and their bootstrap intervals
against independent closed forms (DeLong's for AUC, the paired-proportions variance for UAR)."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from svd_explain.comparisons import COLUMNS, bootstrap_p_value, comparison_table, write_comparisons


def two_models(n=600, seed=0):
    """A split table (one session per speaker, all test) and two correlated models, b weaker."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    shared = rng.normal(size=n)
    split = pd.DataFrame({"session_id": np.arange(n), "speaker_id": np.arange(n) + 1000, "split": "test",
                          "label": label, "sex": "female", "category": np.where(label, "organic", "healthy")})
    tables = {}
    for name, strength in (("a", 1.2), ("b", 0.7)):
        logit = strength * (2 * label - 1) + 0.8 * shared + rng.normal(size=n)
        score = 1 / (1 + np.exp(-logit))
        tables[name] = split[["session_id", "split", "label"]].assign(score=score, pred=(score >= 0.5).astype(int))
    return split, tables


def delong_difference(label, score_a, score_b, confidence=0.95):
    """DeLong, DeLong & Clarke-Pearson (1988), written out: placement values per positive and
    negative, their covariances, the normal interval of AUC(a) − AUC(b)."""
    placements = []
    for score in (score_a, score_b):
        positives, negatives = score[label == 1], score[label == 0]
        psi = (positives[:, None] > negatives[None, :]) + 0.5 * (positives[:, None] == negatives[None, :])
        placements.append((psi.mean(axis=1), psi.mean(axis=0), psi.mean()))
    v10 = np.stack([p[0] for p in placements])
    v01 = np.stack([p[1] for p in placements])
    s10, s01 = np.cov(v10), np.cov(v01)
    contrast = np.array([1.0, -1.0])
    variance = contrast @ s10 @ contrast / v10.shape[1] + contrast @ s01 @ contrast / v01.shape[1]
    difference = placements[0][2] - placements[1][2]
    z = stats.norm.ppf(0.5 + confidence / 2)
    return difference, difference - z * np.sqrt(variance), difference + z * np.sqrt(variance)


def paired_uar_difference(label, pred_a, pred_b, confidence=0.95):
    """UAR(a) − UAR(b) with the normal interval of two paired proportions per class."""
    variance, difference = 0.0, 0.0
    for cls in (0, 1):
        right_a, right_b = pred_a[label == cls] == cls, pred_b[label == cls] == cls
        only_a, only_b = np.mean(right_a & ~right_b), np.mean(~right_a & right_b)
        difference += (only_a - only_b) / 2
        variance += (only_a + only_b - (only_a - only_b) ** 2) / right_a.size / 4
    z = stats.norm.ppf(0.5 + confidence / 2)
    return difference, difference - z * np.sqrt(variance), difference + z * np.sqrt(variance)


def test_differences_and_intervals_agree_with_independent_computations():
    split, tables = two_models()
    row = comparison_table(tables, split, resamples=2000, seed=3).iloc[0]
    label = tables["a"]["label"].to_numpy()
    a, b = tables["a"], tables["b"]
    assert (row["model_a"], row["model_b"], row["n"]) == ("a", "b", 600)
    assert row["auc_diff"] == pytest.approx(roc_auc_score(label, a["score"]) - roc_auc_score(label, b["score"]))
    assert row["uar_diff"] == pytest.approx(balanced_accuracy_score(label, a["pred"]) - balanced_accuracy_score(label, b["pred"]))
    _, low, high = delong_difference(label, a["score"].to_numpy(), b["score"].to_numpy())
    assert row["auc_diff_lo"] == pytest.approx(low, abs=0.012) and row["auc_diff_hi"] == pytest.approx(high, abs=0.012)
    _, low, high = paired_uar_difference(label, a["pred"].to_numpy(), b["pred"].to_numpy())
    assert row["uar_diff_lo"] == pytest.approx(low, abs=0.012) and row["uar_diff_hi"] == pytest.approx(high, abs=0.012)
    assert row["auc_p_value"] < 0.01 and row["interval"] == "speaker bootstrap, BCa"


def test_a_model_against_itself_differs_by_nothing():
    split, tables = two_models(200)
    row = comparison_table({"a": tables["a"], "same": tables["a"]}, split, resamples=200).iloc[0]
    assert row["auc_diff"] == 0 and row["uar_diff"] == 0 and row["auc_p_value"] == 1.0


def test_pairs_use_the_sessions_both_predicted_and_small_pairs_say_so(tmp_path):
    split, tables = two_models(200)
    tables["c"] = tables["b"].iloc[:190]
    tables["tiny"] = tables["b"][tables["b"]["label"] == 1].iloc[:20].pipe(
        lambda t: pd.concat([t, tables["b"][tables["b"]["label"] == 0].iloc[:3]]))
    split.to_parquet(tmp_path / "split.parquet")
    paths = {}
    for name, table in tables.items():
        paths[name] = tmp_path / f"{name}.parquet"
        table.to_parquet(paths[name])
    written = write_comparisons(paths, tmp_path / "split.parquet", tmp_path / "c.tsv", 100, 0.95, 5, 0)
    table = pd.read_csv(tmp_path / "c.tsv", sep="\t").set_index(["model_a", "model_b"])
    assert list(table.reset_index().columns) == COLUMNS and len(written) == 6
    assert table.loc[("a", "c"), "n"] == 190
    assert table.loc[("a", "tiny"), "note"].startswith("n too small") and np.isnan(table.loc[("a", "tiny"), "auc_diff"])


def test_bootstrap_p_value():
    assert bootstrap_p_value(np.full(99, 0.1)) == pytest.approx(2 / 100)
    assert bootstrap_p_value(np.r_[np.full(50, -1.0), np.full(50, 1.0)]) == 1.0
