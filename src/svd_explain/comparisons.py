"""Paired comparisons of every two models or baselines on the same test sessions: the AUC
difference and the UAR difference (each at the model's dev-chosen threshold), with BCa intervals
and two-sided p-values from the paired, class-stratified speaker bootstrap (both models are
scored on the same resampled speakers, so their correlation is kept).

Sessions that one of the two lacks (a baseline without an age) are left out of that pair; n
says how many remain. The p-value is 2 · min(share of resampled differences ≤ 0, share ≥ 0),
at most 1, with the observed difference counted as one resample; it is not corrected for the
number of pairs (the table has one row per pair, so a reader can)."""
import itertools
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from svd_explain.intervals import bootstrap_interval
from svd_explain.metrics import check_predictions, point_estimate, resampled_metric

log = logging.getLogger(__name__)

COMPARED = ("auc", "uar")
COLUMNS = [
    "model_a", "model_b", "split", "n", "n_speakers", "n_healthy", "n_pathological",
    *[f"{metric}_{part}" for metric in COMPARED for part in ("a", "b", "diff", "diff_lo", "diff_hi", "p_value")],
    "interval", "note",
]


def bootstrap_p_value(distribution, observed=0.0) -> float:
    """Two-sided p-value of a zero difference from a bootstrap distribution of differences."""
    distribution = np.asarray(distribution)
    below = (1 + np.sum(distribution <= 0)) / (1 + distribution.size)
    above = (1 + np.sum(distribution >= 0)) / (1 + distribution.size)
    return float(min(1.0, 2 * min(below, above)))


def paired_difference(metric, label, speakers, a, b, resamples=1000, confidence=0.95, seed=0):
    """metric(a) − metric(b) on the same sessions (`a`, `b`: (score, pred) arrays), with its
    paired speaker-bootstrap BCa interval and p-value: {a, b, diff, diff_lo, diff_hi, p_value,
    interval}."""
    value_a = point_estimate(metric, label, *a)
    value_b = point_estimate(metric, label, *b)

    def difference(weights):
        return resampled_metric(metric, weights, label, *a) - resampled_metric(metric, weights, label, *b)

    interval, distribution = bootstrap_interval(difference, speakers, label, resamples, confidence, seed)
    return {"a": value_a, "b": value_b, "diff": value_a - value_b, "diff_lo": interval.low,
            "diff_hi": interval.high, "p_value": bootstrap_p_value(distribution), "interval": interval.method}


def compare_pair(name_a, table_a, name_b, table_b, split_name, resamples, confidence, min_n, seed):
    """One row of the comparison table for two checked prediction tables on one split."""
    both = table_a.loc[table_a["split"] == split_name].merge(
        table_b.loc[table_b["split"] == split_name, ["session_id", "score", "pred"]],
        on="session_id", suffixes=("_a", "_b"),
    )
    label, speakers = both["label"].to_numpy(), both["speaker_id"].to_numpy()
    row = {"model_a": name_a, "model_b": name_b, "split": split_name, "n": len(both),
           "n_speakers": int(both["speaker_id"].nunique()), "n_healthy": int((label == 0).sum()),
           "n_pathological": int((label == 1).sum()), "note": ""}
    smallest = min(row["n_healthy"], row["n_pathological"])
    speakers_per_class = min((len(np.unique(speakers[label == c])) for c in (0, 1)), default=0)
    if smallest < min_n or speakers_per_class < 2:
        row["note"] = f"n too small: {smallest} session(s) of the smaller class, at least {min_n} needed"
        return row
    scores = {side: (both[f"score_{side}"].to_numpy(np.float64), both[f"pred_{side}"].to_numpy()) for side in "ab"}
    for index, metric in enumerate(COMPARED):
        result = paired_difference(metric, label, speakers, scores["a"], scores["b"], resamples, confidence,
                                   [*np.atleast_1d(seed).tolist(), index])
        for part in ("a", "b", "diff", "diff_lo", "diff_hi", "p_value"):
            row[f"{metric}_{part}"] = result[part]
        row["interval"] = result["interval"]
    return row


def comparison_table(predictions, split, split_name="test", resamples=1000, confidence=0.95, min_n=5, seed=13):
    """One row per pair of `predictions` ({name: predictions table}, in table order: a before
    b), see the module docstring."""
    checked = {name: check_predictions(table, split, complete=False) for name, table in predictions.items()}
    rows = []
    for index, (name_a, name_b) in enumerate(itertools.combinations(checked, 2)):
        rows.append(compare_pair(name_a, checked[name_a], name_b, checked[name_b], split_name, resamples,
                                 confidence, min_n, (seed, index)))
    return pd.DataFrame(rows, columns=COLUMNS)


def write_comparisons(model_predictions, split_parquet, comparisons_tsv, resamples, confidence, min_n, seed):
    """comparisons.tsv of every pair of `model_predictions` ({name: predictions Parquet}) on
    the test split."""
    if len(model_predictions) < 2:
        raise ValueError("a comparison needs at least two models")
    split = pd.read_parquet(split_parquet)
    predictions = {name: pd.read_parquet(path) for name, path in model_predictions.items()}
    table = comparison_table(predictions, split, "test", resamples, confidence, min_n, seed)
    Path(comparisons_tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(comparisons_tsv, sep="\t", index=False, float_format="%.4f")
    for row in table.itertuples():
        log.info("%s − %s: ΔAUC %s [%s, %s], ΔUAR %s [%s, %s]", row.model_a, row.model_b, row.auc_diff,
                 row.auc_diff_lo, row.auc_diff_hi, row.uar_diff, row.uar_diff_lo, row.uar_diff_hi)
    return table
