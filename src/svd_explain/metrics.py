"""Classification metrics per split with speaker-resampled bootstrap confidence intervals, the
age-only and sex-only baselines, the side-by-side summary table, ROC and confusion figures, and
the O / X / A / B cases of the test recordings.

UAR is the unweighted average recall (= balanced accuracy, from `pred`); AUC is the ROC AUC
(from `score` = P(pathological)); label 1 = pathological."""
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, balanced_accuracy_score, recall_score, roc_auc_score, roc_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

log = logging.getLogger(__name__)

SPLITS = ("test", "dev", "train")
PREDICTION_COLUMNS = ("session_id", "split", "label", "score", "pred")
BASELINES = {"age_only": "age", "sex_only": "sex"}
CLASS_NAMES = ("healthy", "pathological")


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
# The study's table: these metrics with their CIs, for these splits.
SUMMARY_METRICS = (
    "uar", "auc", "sensitivity", "specificity", "recall_organic", "recall_non_organic", "uar_female", "uar_male",
)
SUMMARY_SPLITS = ("test", "dev")


def _defined(kind, label):
    """Whether a metric of `kind` exists for these labels (AUC and UAR need both classes)."""
    has_pos, has_neg = bool((label == 1).any()), bool((label == 0).any())
    return {"uar": has_pos and has_neg, "auc": has_pos and has_neg, "sensitivity": has_pos, "specificity": has_neg}[kind]


def point_estimate(kind, label, score, pred):
    """The metric on these sessions with scikit-learn, or None where it is undefined."""
    if not _defined(kind, label):
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
    """The metric for each row of `weights` (bootstrap resamples × sessions); NaN for a
    resample where it is undefined (e.g. one class only, for AUC and UAR)."""
    if not len(label):
        return np.full(len(weights), np.nan)
    if kind == "auc":
        return _weighted_auc(weights, label, score)
    sensitivity = _weighted_recall(weights, label, pred, 1)
    specificity = _weighted_recall(weights, label, pred, 0)
    return {"uar": (sensitivity + specificity) / 2, "sensitivity": sensitivity, "specificity": specificity}[kind]


def speaker_bootstrap_weights(speaker_ids, resamples, rng):
    """(resamples × sessions) weights: how often each session's speaker was drawn when the
    speakers are resampled with replacement (all sessions of a drawn speaker come along)."""
    speakers, speaker_of_session = np.unique(speaker_ids, return_inverse=True)
    n = len(speakers)
    drawn = rng.integers(0, n, size=(resamples, n))
    counts = np.bincount((drawn + n * np.arange(resamples)[:, None]).ravel(), minlength=resamples * n)
    return counts.reshape(resamples, n)[:, speaker_of_session].astype(np.float64)


def split_metrics(table, resamples, confidence, rng):
    """Every metric of METRICS on one split's sessions (columns speaker_id, label, score, pred,
    sex, category), with percentile bootstrap CIs over speakers.

    A resample where a metric is undefined is skipped for that metric; `bootstrap.used` counts
    the resamples each CI rests on. Undefined point estimates and CIs are None."""
    label = table["label"].to_numpy()
    score = table["score"].to_numpy(dtype=np.float64)
    pred = table["pred"].to_numpy()
    weights = speaker_bootstrap_weights(table["speaker_id"].to_numpy(), resamples, rng)
    tail = (1 - confidence) / 2
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
    used = {}
    for metric in METRICS:
        subset = np.ones(len(table), bool) if metric.column is None else (table[metric.column] == metric.value).to_numpy()
        result[metric.name] = point_estimate(metric.kind, label[subset], score[subset], pred[subset])
        values = resampled_metric(metric.kind, weights[:, subset], label[subset], score[subset], pred[subset])
        values = values[np.isfinite(values)]
        used[metric.name] = len(values)
        if result[metric.name] is None or not len(values):
            result[f"{metric.name}_ci"] = None
        else:
            result[f"{metric.name}_ci"] = [float(v) for v in np.quantile(values, [tail, 1 - tail])]
    result["bootstrap"] = {"resamples": resamples, "confidence": confidence, "unit": "speaker", "used": used}
    return result


def check_predictions(predictions, split):
    """Predictions joined with the split's speaker, sex and category. Every session of the
    split must have exactly one prediction that agrees with its split and label, with a
    score in [0, 1] and a 0/1 pred; anything else raises ValueError."""
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
    if unpredicted:
        raise ValueError(f"{len(unpredicted)} session(s) of the split have no prediction, e.g. {unpredicted[:5]}")
    for column in ("split", "label"):
        differs = joined[column] != joined[f"{column}_split"]
        if differs.any():
            raise ValueError(
                f"{differs.sum()} prediction(s) disagree with the split table on {column}, "
                f"e.g. session {joined.loc[differs, 'session_id'].iloc[0]}"
            )
    joined = joined.drop(columns=["_merge", "split_split", "label_split"])
    return joined.astype({"label": "int64", "pred": "int64"})


def evaluate_predictions(predictions, split, resamples=1000, confidence=0.95, seed=13):
    """{split name: split_metrics} for every split present (test, dev, train order).

    The bootstrap of a split draws from a generator seeded by (seed, split), so models
    evaluated on the same sessions share their resamples (paired comparisons)."""
    table = check_predictions(predictions, split)
    result = {}
    for index, name in enumerate(SPLITS):
        rows = table.loc[table["split"] == name]
        if rows.empty:
            continue
        rng = np.random.default_rng([seed, index])
        result[name] = split_metrics(rows, resamples, confidence, rng)
    return result


def _write_json(data, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_metrics(predictions_parquet, split_parquet, metrics_json, resamples, confidence, seed):
    """Evaluate one model's predictions (`evaluate_predictions`) and write the JSON."""
    result = evaluate_predictions(
        pd.read_parquet(predictions_parquet), pd.read_parquet(split_parquet), resamples, confidence, seed
    )
    _write_json(result, metrics_json)
    for name, values in result.items():
        log.info("%s: n=%d UAR=%s AUC=%s", name, values["n"], values["uar"], values["auc"])
    return result


def baseline_predictions(catalog, split, feature):
    """Predictions of a logistic regression on one catalog feature (age, or sex as male = 1),
    fitted on the train split and applied to every split.

    Standardised input; balanced class weights, so that the 0.5 threshold on P(pathological)
    aims at UAR rather than at accuracy on the larger class. Sessions without the feature
    (a missing age) are left out; returns (predictions, note) with the reason in the note."""
    if feature not in ("age", "sex"):
        raise ValueError(f"baseline feature must be age or sex, not {feature!r}")
    table = split[["session_id", "split", "label", "sex"]].merge(
        catalog[["session_id", "age"]], on="session_id", how="left", validate="one_to_one"
    )
    values = (table["sex"] == "male").astype(float) if feature == "sex" else table["age"].astype(float)
    missing = values.isna()
    note = ""
    if missing.any():
        note = f"{missing.sum()} session(s) without {feature} left out, e.g. {table.loc[missing, 'session_id'].tolist()[:5]}"
        log.warning("%s baseline: %s", feature, note)
    table, values = table.loc[~missing], values[~missing].to_numpy()[:, None]
    train = (table["split"] == "train").to_numpy()
    if table.loc[train, "label"].nunique() < 2:
        raise ValueError(f"the {feature} baseline needs both classes in the train split")
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced"))
    model.fit(values[train], table.loc[train, "label"])
    score = model.predict_proba(values)[:, list(model.classes_).index(1)]
    predictions = pd.DataFrame({
        "session_id": table["session_id"].to_numpy(),
        "split": table["split"].to_numpy(),
        "label": table["label"].to_numpy(),
        "score": score,
        "pred": (score >= 0.5).astype("int64"),
    })
    return predictions, note


def summary_table(results, kinds, notes=None):
    """The study's table: one row per model or baseline (`results`: {name: evaluate_predictions
    result}, `kinds`: {name: "model" or "baseline"}), with n and SUMMARY_METRICS (point, lo,
    hi) for the test and dev splits."""
    rows = []
    for name, result in results.items():
        row = {"model": name, "kind": kinds[name]}
        for split_name in SUMMARY_SPLITS:
            values = result.get(split_name, {})
            row[f"{split_name}_n"] = values.get("n", 0)
            for metric in SUMMARY_METRICS:
                ci = values.get(f"{metric}_ci") or [None, None]
                row[f"{split_name}_{metric}"] = values.get(metric)
                row[f"{split_name}_{metric}_lo"], row[f"{split_name}_{metric}_hi"] = ci
        row["note"] = (notes or {}).get(name, "")
        rows.append(row)
    return pd.DataFrame(rows)


def _label(name, values):
    if values.get("auc") is None:
        return f"{name} (AUC undefined)"
    lo, hi = values["auc_ci"] or (np.nan, np.nan)
    return f"{name} (AUC {values['auc']:.2f} [{lo:.2f}, {hi:.2f}])"


def plot_roc(predictions, results, kinds, path, split_name="test", dpi=200):
    """ROC curves of every model (solid) and baseline (dashed) on one split, AUC and CI in the
    legend; a model whose split has one class only is listed without a curve."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, label="chance")
    for name, table in predictions.items():
        rows = table.loc[table["split"] == split_name]
        values = results[name].get(split_name, {})
        style = "-" if kinds[name] == "model" else "--"
        if values.get("auc") is None:
            ax.plot([], [], style, label=_label(name, values))
            continue
        fpr, tpr, _ = roc_curve(rows["label"], rows["score"])
        ax.plot(fpr, tpr, style, lw=1.5, label=_label(name, values))
    ax.set(xlabel="1 − specificity (false-positive rate)", ylabel="sensitivity (true-positive rate)",
           title=f"ROC, {split_name} split", xlim=(0, 1), ylim=(0, 1.01), aspect="equal")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_confusion(predictions, results, path, split_name="test", dpi=200):
    """One confusion matrix (counts) per model on one split, UAR and CI in the panel title."""
    names = list(predictions)
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.3), squeeze=False)
    for ax, name in zip(axes[0], names):
        rows = predictions[name].loc[predictions[name]["split"] == split_name]
        ConfusionMatrixDisplay.from_predictions(
            rows["label"], rows["pred"], labels=[0, 1], display_labels=CLASS_NAMES,
            ax=ax, colorbar=False, cmap="Blues", values_format="d",
        )
        values = results[name].get(split_name, {})
        uar, ci = values.get("uar"), values.get("uar_ci")
        subtitle = "UAR undefined" if uar is None else f"UAR {uar:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"
        ax.set_title(f"{name}\n{subtitle}", fontsize=9)
    fig.suptitle(f"Confusion matrices, {split_name} split", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def write_summary(
    model_metrics, model_predictions, catalog_parquet, split_parquet, summary_tsv, baselines_json,
    baseline_predictions_parquet, resamples, confidence, seed,
):
    """The side-by-side table of every model (`model_metrics`: {name: metrics JSON},
    `model_predictions`: {name: predictions Parquet}, same names) and of the age-only and
    sex-only baselines (evaluated here like a model: their metrics written to
    `baselines_json`, their predictions, with a `baseline` column, to
    `baseline_predictions_parquet` for the figures)."""
    if set(model_metrics) != set(model_predictions) or not model_metrics:
        raise ValueError("need metrics and predictions for the same, non-empty set of models")
    overlap = set(model_metrics) & set(BASELINES)
    if overlap:
        raise ValueError(f"model name(s) {sorted(overlap)} clash with the baselines' names")
    split = pd.read_parquet(split_parquet)
    catalog = pd.read_parquet(catalog_parquet)
    results = {name: json.loads(Path(path).read_text(encoding="utf-8")) for name, path in model_metrics.items()}
    for path in model_predictions.values():
        check_predictions(pd.read_parquet(path), split)
    kinds = dict.fromkeys(results, "model")
    notes, predictions = {}, {}
    for name, feature in BASELINES.items():
        predictions[name], notes[name] = baseline_predictions(catalog, split, feature)
        # The baselines may lack sessions (missing ages): evaluate them on the sessions they have.
        results[name] = evaluate_predictions(
            predictions[name], split.loc[split["session_id"].isin(predictions[name]["session_id"])],
            resamples, confidence, seed,
        )
        kinds[name] = "baseline"
    _write_json({name: results[name] for name in BASELINES}, baselines_json)
    Path(baseline_predictions_parquet).parent.mkdir(parents=True, exist_ok=True)
    pd.concat([table.assign(baseline=name) for name, table in predictions.items()], ignore_index=True).to_parquet(
        baseline_predictions_parquet, index=False
    )
    table = summary_table(results, kinds, notes)
    Path(summary_tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(summary_tsv, sep="\t", index=False, float_format="%.4f")
    return table


def plot_summary(
    model_metrics, model_predictions, split_parquet, baselines_json, baseline_predictions_parquet,
    roc_png, confusion_png, dpi=200,
):
    """The test-split ROC figure (models and baselines) and confusion figure (models) from what
    `write_metrics` and `write_summary` wrote (`model_metrics`, `model_predictions`: {name:
    path}, same names)."""
    if set(model_metrics) != set(model_predictions) or not model_metrics:
        raise ValueError("need metrics and predictions for the same, non-empty set of models")
    split = pd.read_parquet(split_parquet)
    results = {name: json.loads(Path(path).read_text(encoding="utf-8")) for name, path in model_metrics.items()}
    predictions = {name: check_predictions(pd.read_parquet(path), split) for name, path in model_predictions.items()}
    kinds = dict.fromkeys(results, "model")
    baseline_results = json.loads(Path(baselines_json).read_text(encoding="utf-8"))
    baselines = pd.read_parquet(baseline_predictions_parquet)
    for name in BASELINES:
        if name not in baseline_results or not (baselines["baseline"] == name).any():
            raise ValueError(f"{baselines_json} / {baseline_predictions_parquet}: no {name} baseline")
        results[name] = baseline_results[name]
        predictions[name] = baselines.loc[baselines["baseline"] == name].drop(columns="baseline")
        kinds[name] = "baseline"
    plot_roc(predictions, results, kinds, roc_png, dpi=dpi)
    plot_confusion({name: predictions[name] for name in model_metrics}, results, confusion_png, dpi=dpi)


CASES = {  # (freeze right, finetuned right) -> case
    (True, True): "O",
    (False, False): "X",
    (True, False): "A",
    (False, True): "B",
}


def case_table(freeze, finetuned):
    """The O / X / A / B case of every test recording from the two study models' predictions
    (tables with session_id, split, label, score, pred): O both right, X both wrong, A
    finetuned wrong / freeze right, B finetuned right / freeze wrong.

    Both must predict the same test sessions with the same labels, or ValueError."""
    tables = []
    for role, table in (("freeze", freeze), ("finetuned", finetuned)):
        missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"{role} predictions lack column(s) {missing}")
        test = table.loc[table["split"] == "test", ["session_id", "label", "score", "pred"]]
        tables.append(test.rename(columns={"score": f"{role}_score", "pred": f"{role}_pred", "label": f"{role}_label"}))
    both = tables[0].merge(tables[1], on="session_id", how="outer", indicator=True)
    if (both["_merge"] != "both").any():
        odd = both.loc[both["_merge"] != "both", "session_id"].tolist()
        raise ValueError(f"the two models' test predictions cover different sessions, e.g. {odd[:5]}")
    if both.empty:
        raise ValueError("no test predictions: no cases")
    if (both["freeze_label"] != both["finetuned_label"]).any():
        raise ValueError("the two models' test predictions disagree on labels")
    both["label"] = both["freeze_label"].astype("int64")
    freeze_right = both["freeze_pred"] == both["label"]
    finetuned_right = both["finetuned_pred"] == both["label"]
    both["case"] = [CASES[(f, t)] for f, t in zip(freeze_right, finetuned_right)]
    columns = ["session_id", "label", "case", "freeze_score", "freeze_pred", "finetuned_score", "finetuned_pred"]
    return both[columns].sort_values("session_id").reset_index(drop=True)


def write_cases(freeze_parquet, finetuned_parquet, cases_tsv, freeze_model, finetuned_model):
    """Write `case_table` with the two models' names as columns freeze_model / finetuned_model."""
    table = case_table(pd.read_parquet(freeze_parquet), pd.read_parquet(finetuned_parquet))
    table.insert(3, "freeze_model", freeze_model)
    table.insert(6, "finetuned_model", finetuned_model)
    Path(cases_tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(cases_tsv, sep="\t", index=False, float_format="%.6f")
    log.info("cases: %s", table["case"].value_counts().to_dict())
    return table
