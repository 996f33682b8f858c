"""Classification metrics per split, with intervals that respect the speaker (intervals.py),
and the side-by-side summary of every model and baseline.

UAR is the unweighted average recall (= balanced accuracy) of `pred`, the decision at the
model's dev-chosen threshold (thresholds.py); AUC is the ROC AUC of `score` = P(pathological),
threshold-free; label 1 = pathological.

Intervals: UAR and AUC (overall and per sex) from the class-stratified speaker bootstrap with
BCa; sensitivity, specificity and the recall of each pathology category exact
(Clopper-Pearson, clustered by speaker where sessions repeat). A metric resting on fewer than
`min_n` sessions of a class it needs (or on one speaker of a class) is not reported: its value
and interval are empty and its note says "n too small"."""
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score

from svd_explain.intervals import bootstrap_interval, proportion_interval
from svd_explain.labels import PREDICTION_COLUMNS

log = logging.getLogger(__name__)

SPLITS = ("test", "dev", "train")
# What each split is for: the summary says it beside the numbers.
ROLES = {
    "test": "held out",
    "dev": "used for model selection (epoch or hyperparameters, and the threshold)",
    "train": "used for fitting",
}


@dataclass(frozen=True)
class Metric:
    """A metric on the sessions where `column` == `value` (all sessions when column is None).

    kind: uar, auc, sensitivity (recall of pathological) or specificity (recall of healthy)."""

    name: str
    kind: str
    column: str | None = None
    value: str | None = None


METRICS = (
    Metric("uar", "uar"),
    Metric("auc", "auc"),
    Metric("sensitivity", "sensitivity"),
    Metric("specificity", "specificity"),
    Metric("recall_organic", "sensitivity", "category", "organic"),
    Metric("recall_non_organic", "sensitivity", "category", "non-organic"),
    Metric("uar_female", "uar", "sex", "female"),
    Metric("auc_female", "auc", "sex", "female"),
    Metric("uar_male", "uar", "sex", "male"),
    Metric("auc_male", "auc", "sex", "male"),
)
# The study's table: these metrics with their intervals and n, for these splits.
SUMMARY_METRICS = (
    "uar", "auc", "sensitivity", "specificity", "recall_organic", "recall_non_organic", "uar_female", "uar_male",
)
SUMMARY_SPLITS = ("test", "dev")
# Kinds of rows in the summary: the AST models, the classical baselines, the confound baselines.
KINDS = ("ast", "classical", "confound")


def point_estimate(kind, label, score, pred):
    """The metric on these sessions with scikit-learn, or None where it is undefined."""
    has_pos, has_neg = bool((label == 1).any()), bool((label == 0).any())
    defined = {"uar": has_pos and has_neg, "auc": has_pos and has_neg, "sensitivity": has_pos, "specificity": has_neg}
    if not defined[kind]:
        return None
    if kind == "uar":
        return float(balanced_accuracy_score(label, pred))
    if kind == "auc":
        return float(roc_auc_score(label, score))
    return float(recall_score(label, pred, pos_label=1 if kind == "sensitivity" else 0))


def _weighted_recall(weights, label, pred, cls):
    """Recall of class `cls` for each row of session weights (NaN where the class is absent)."""
    of_class = label == cls
    total = weights[:, of_class].sum(axis=1)
    hits = weights[:, of_class & (pred == cls)].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hits / total, np.nan)


def _weighted_auc(weights, label, score):
    """ROC AUC for each row of session weights: the weighted Mann-Whitney statistic, ties
    counted half (what roc_auc_score with sample_weight gives); NaN where a class is absent."""
    order = np.argsort(score, kind="stable")
    sorted_score, sorted_label, sorted_weights = score[order], label[order], weights[:, order]
    starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    positives = np.add.reduceat(sorted_weights * (sorted_label == 1), starts, axis=1)
    negatives = np.add.reduceat(sorted_weights * (sorted_label == 0), starts, axis=1)
    negatives_below = np.cumsum(negatives, axis=1) - negatives
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, (positives * (negatives_below + 0.5 * negatives)).sum(axis=1) / pairs, np.nan)


def resampled_metric(kind, weights, label, score, pred):
    """The metric for each row of `weights` (resamples × sessions); NaN for a row where it is
    undefined (e.g. one class only, for AUC and UAR)."""
    if not len(label):
        return np.full(len(weights), np.nan)
    if kind == "auc":
        return _weighted_auc(weights, label, score)
    sensitivity = _weighted_recall(weights, label, pred, 1)
    specificity = _weighted_recall(weights, label, pred, 0)
    return {"uar": (sensitivity + specificity) / 2, "sensitivity": sensitivity, "specificity": specificity}[kind]


def _too_small(kind, label, speakers, min_n):
    """Why a metric is not reported on these sessions, or None when it is."""
    classes = {"uar": (0, 1), "auc": (0, 1), "sensitivity": (1,), "specificity": (0,)}[kind]
    for cls in classes:
        n = int((label == cls).sum())
        n_speakers = len(np.unique(speakers[label == cls]))
        name = "pathological" if cls else "healthy"
        if n < min_n:
            return f"n too small: {n} {name} session(s), at least {min_n} needed"
        if kind in ("uar", "auc") and n_speakers < 2:
            return f"n too small: {n_speakers} {name} speaker(s), at least 2 needed"
    return None


def metric_cell(metric_kind, label, score, pred, speakers, resamples, confidence, min_n, seed):
    """One metric on one set of sessions: {value, ci, n, interval, note}."""
    n = int(len(label)) if metric_kind in ("uar", "auc") else int((label == (metric_kind == "sensitivity")).sum())
    note = _too_small(metric_kind, label, speakers, min_n)
    if note:
        return {"value": None, "ci": None, "n": n, "interval": None, "note": note}
    value = point_estimate(metric_kind, label, score, pred)
    if metric_kind in ("uar", "auc"):
        interval, _ = bootstrap_interval(
            lambda weights: resampled_metric(metric_kind, weights, label, score, pred),
            speakers, strata=label, resamples=resamples, confidence=confidence, seed=seed,
        )
    else:
        cls = 1 if metric_kind == "sensitivity" else 0
        of_class = label == cls
        interval = proportion_interval(pred[of_class] == cls, speakers[of_class], confidence)
    return {"value": value, "ci": interval.as_list(), "n": n, "interval": interval.method, "note": ""}


def split_metrics(table, resamples=1000, confidence=0.95, min_n=5, seed=(13, 0)):
    """Every metric of METRICS on one split's sessions (columns speaker_id, label, score,
    pred, sex, category): `{name}` (value), `{name}_ci`, `{name}_n`, `{name}_interval` (the
    method) and, for metrics not reported, a note in `notes`.

    Metric i's bootstrap draws from a generator seeded by (*seed, i)."""
    label = table["label"].to_numpy()
    score = table["score"].to_numpy(dtype=np.float64)
    pred = table["pred"].to_numpy()
    speakers = table["speaker_id"].to_numpy()
    result = {
        "n": len(table),
        "n_speakers": int(table["speaker_id"].nunique()),
        "n_healthy": int((label == 0).sum()),
        "n_pathological": int((label == 1).sum()),
        "n_organic": int((table["category"] == "organic").sum()),
        "n_non_organic": int((table["category"] == "non-organic").sum()),
        "n_female": int((table["sex"] == "female").sum()),
        "n_male": int((table["sex"] == "male").sum()),
    }
    notes = {}
    for index, metric in enumerate(METRICS):
        subset = np.ones(len(table), bool) if metric.column is None else (table[metric.column] == metric.value).to_numpy()
        cell = metric_cell(metric.kind, label[subset], score[subset], pred[subset], speakers[subset],
                           resamples, confidence, min_n, [*np.atleast_1d(seed).tolist(), index])
        result[metric.name] = cell["value"]
        result[f"{metric.name}_ci"] = cell["ci"]
        result[f"{metric.name}_n"] = cell["n"]
        result[f"{metric.name}_interval"] = cell["interval"]
        if cell["note"]:
            notes[metric.name] = cell["note"]
    result["notes"] = notes
    result["bootstrap"] = {"resamples": resamples, "confidence": confidence, "unit": "speaker",
                           "strata": "class", "min_n": min_n}
    return result


def check_predictions(predictions, split, complete=True):
    """Predictions joined with the split's speaker, sex and category. Every prediction must
    agree with the split table on its split and label, with a score in [0, 1] and a 0/1 pred;
    with `complete` every session of the split needs exactly one (a baseline without a value,
    say a missing age, may lack some). Anything else raises ValueError."""
    missing = [c for c in PREDICTION_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lack column(s) {missing}")
    if predictions["session_id"].duplicated().any():
        raise ValueError(f"sessions predicted twice: {predictions.loc[predictions['session_id'].duplicated(), 'session_id'].tolist()[:5]}")
    score = predictions["score"].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(score) & (score >= 0) & (score <= 1)):
        raise ValueError("scores must be probabilities in [0, 1] (NaN or out-of-range score found)")
    for column in ("label", "pred"):
        if not predictions[column].isin([0, 1]).all():
            raise ValueError(f"{column} must be 0 or 1; found {sorted(set(predictions[column]) - {0, 1})[:5]}")
    joined = predictions[list(PREDICTION_COLUMNS)].merge(
        split[["session_id", "speaker_id", "split", "label", "sex", "category"]],
        on="session_id", how="outer", suffixes=("", "_split"), indicator=True,
    )
    unknown = joined.loc[joined["_merge"] == "left_only", "session_id"].tolist()
    if unknown:
        raise ValueError(f"{len(unknown)} predicted session(s) are not in the split table, e.g. {unknown[:5]}")
    unpredicted = joined.loc[joined["_merge"] == "right_only", "session_id"].tolist()
    if unpredicted and complete:
        raise ValueError(f"{len(unpredicted)} session(s) of the split have no prediction, e.g. {unpredicted[:5]}")
    joined = joined.loc[joined["_merge"] == "both"]
    for column in ("split", "label"):
        differs = joined[column] != joined[f"{column}_split"]
        if differs.any():
            raise ValueError(
                f"{differs.sum()} prediction(s) disagree with the split table on {column}, "
                f"e.g. session {joined.loc[differs, 'session_id'].iloc[0]}"
            )
    joined = joined.drop(columns=["_merge", "split_split", "label_split"]).reset_index(drop=True)
    return joined.astype({"label": "int64", "pred": "int64"})


def evaluate_predictions(predictions, split, resamples=1000, confidence=0.95, seed=13, min_n=5, complete=True):
    """{split name: split_metrics with its role} for every split present (test, dev, train)."""
    table = check_predictions(predictions, split, complete)
    result = {}
    for index, name in enumerate(SPLITS):
        rows = table.loc[table["split"] == name]
        if rows.empty:
            continue
        result[name] = {"role": ROLES[name], **split_metrics(rows, resamples, confidence, min_n, (seed, index))}
    return result


def _write_json(data, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_metrics(predictions_parquet, split_parquet, threshold_json, metrics_json, kind, resamples, confidence,
                  seed, min_n=5, complete=True):
    """Evaluate one model's or baseline's predictions (`evaluate_predictions`) and write the
    JSON, with the model's kind and dev-chosen threshold. Sessions of the split without a
    prediction (allowed unless `complete`) are counted in `unpredicted`."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    predictions, split = pd.read_parquet(predictions_parquet), pd.read_parquet(split_parquet)
    threshold = json.loads(Path(threshold_json).read_text(encoding="utf-8"))
    result = evaluate_predictions(predictions, split, resamples, confidence, seed, min_n, complete)
    unpredicted = int((~split["session_id"].isin(predictions["session_id"])).sum())
    _write_json({"kind": kind, "threshold": threshold, "unpredicted": unpredicted, **result}, metrics_json)
    for name, values in result.items():
        log.info("%s: n=%d UAR=%s AUC=%s (threshold %.4f)", name, values["n"], values["uar"], values["auc"],
                 threshold["threshold"])
    return result


def read_metrics(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def summary_table(results):
    """The study's table from metrics JSONs (`results`: {name: what write_metrics wrote}): one
    row per model or baseline and split (test, then dev), with its role, the threshold, n, and
    SUMMARY_METRICS as value, lo, hi and n; `note` lists the metrics not reported and why, and
    any interval that fell back from BCa."""
    rows = []
    for split_name in SUMMARY_SPLITS:
        for name, result in results.items():
            values = result.get(split_name)
            if values is None:
                continue
            row = {"model": name, "kind": result["kind"], "split": split_name, "role": values["role"],
                   "threshold": result["threshold"]["threshold"], "n": values["n"],
                   "n_speakers": values["n_speakers"], "n_healthy": values["n_healthy"],
                   "n_pathological": values["n_pathological"]}
            notes = [f"{metric}: {note}" for metric, note in values["notes"].items() if metric in SUMMARY_METRICS]
            for metric in SUMMARY_METRICS:
                ci = values[f"{metric}_ci"] or [None, None]
                row[metric] = values[metric]
                row[f"{metric}_lo"], row[f"{metric}_hi"] = ci
                row[f"{metric}_n"] = values[f"{metric}_n"]
                method = values[f"{metric}_interval"] or ""
                if "percentile" in method:
                    notes.append(f"{metric}: {method}")
            if result.get("unpredicted"):
                notes.append(f"{result['unpredicted']} session(s) of the split without a prediction")
            row["note"] = "; ".join(notes)
            rows.append(row)
    return pd.DataFrame(rows)


def write_summary(model_metrics, summary_tsv):
    """The side-by-side table (`summary_table`) of every model and baseline (`model_metrics`:
    {name: metrics JSON}, in the order of the table)."""
    if not model_metrics:
        raise ValueError("no metrics to summarise")
    table = summary_table({name: read_metrics(path) for name, path in model_metrics.items()})
    Path(summary_tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(summary_tsv, sep="\t", index=False, float_format="%.4f")
    return table
