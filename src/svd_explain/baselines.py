"""The baselines beside the AST models, on the same split, scored like a model.

- Confound baselines: a logistic regression on one catalog value, age (`age_only`) or sex
  (`sex_only`, male = 1): how much of a score the SVD's age and sex confounds alone explain.
- Classical baselines, the field's reference points: openSMILE eGeMAPS functionals with a
  linear SVM (`egemaps_svm`, as in the ViVoLab `voicedisorder` pipeline) and with a logistic
  regression (`egemaps_logreg`); Praat's voice measures with a logistic regression
  (`praat_logreg`); and, on the AST's own input, the log-mel filter bank's per-bin level, spread
  and frame-to-frame change with a logistic regression (`logmel_logreg`, logmel_features.py):
  what the spectrogram gives a linear model without any learnt representation.

Every baseline: missing values imputed with the train median (and counted), features
standardised on train, balanced class weights; fitted on the train split only, its
regularisation C chosen on dev (the best dev AUC; ties: the smallest C), its threshold chosen on
dev (thresholds.py). `score` is P(pathological) for the logistic regressions and the logistic
of the SVM's margin for the SVM (a monotone transform: it ranks, it is not calibrated)."""
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from svd_explain.thresholds import apply_threshold, threshold_record, write_threshold

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Baseline:
    """features: a catalog column (age, sex), a feature set of voice_features (egemaps,
    praat) or the log-mel statistics (logmel); classifier: logreg or svm; kind: confound or classical (metrics.KINDS)."""

    features: str
    classifier: str
    kind: str


BASELINES = {
    "age_only": Baseline("age", "logreg", "confound"),
    "sex_only": Baseline("sex", "logreg", "confound"),
    "egemaps_svm": Baseline("egemaps", "svm", "classical"),
    "egemaps_logreg": Baseline("egemaps", "logreg", "classical"),
    "praat_logreg": Baseline("praat", "logreg", "classical"),
    "logmel_logreg": Baseline("logmel", "logreg", "classical"),
}
CONFOUND_BASELINES = tuple(name for name, b in BASELINES.items() if b.kind == "confound")
CLASSICAL_BASELINES = tuple(name for name, b in BASELINES.items() if b.kind == "classical")
CLASSIFIERS = {"logreg": "logistic regression", "svm": "linear SVM"}


def _classifier(kind, c, seed):
    if kind == "logreg":
        return LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    return LinearSVC(C=c, class_weight="balanced", max_iter=20000, random_state=seed)


def _scores(model, values):
    if hasattr(model, "predict_proba"):
        return model.predict_proba(values)[:, list(model.classes_).index(1)]
    return expit(model.decision_function(values))


def baseline_inputs(baseline: Baseline, split, catalog=None, features=None):
    """(split rows that have the baseline's input, the input as a float array, note). A
    confound baseline leaves out sessions without the catalog value (a missing age), with the
    reason in the note; a classical one keeps every session (missing values are imputed)."""
    if baseline.features in ("age", "sex"):
        table = split[["session_id", "split", "label", "sex"]].merge(
            catalog[["session_id", "age"]], on="session_id", how="left", validate="one_to_one")
        values = ((table["sex"] == "male").astype(float) if baseline.features == "sex" else table["age"].astype(float))
        missing = values.isna()
        note = ""
        if missing.any():
            note = (f"{missing.sum()} session(s) without {baseline.features} left out, "
                    f"e.g. {table.loc[missing, 'session_id'].tolist()[:5]}")
            log.warning("%s", note)
        return table.loc[~missing].reset_index(drop=True), values[~missing].to_numpy()[:, None], ["age" if baseline.features == "age" else "male"], note
    columns = [c for c in features.columns if c not in ("session_id", "note")]
    table = split[["session_id", "split", "label"]].merge(features, on="session_id", how="left", validate="one_to_one",
                                                          indicator=True)
    absent = table.loc[table["_merge"] == "left_only", "session_id"].tolist()
    if absent:
        raise ValueError(f"{len(absent)} session(s) of the split have no {baseline.features} features, e.g. {absent[:5]}")
    return table.drop(columns="_merge"), table[columns].to_numpy(dtype=np.float64), columns, ""


def fit_baseline(name, split, c_grid, seed=13, catalog=None, features=None):
    """Fit one baseline of BASELINES (see the module docstring). Returns (predictions with
    PREDICTION_COLUMNS, the fitted model as plain numbers, the threshold record)."""
    baseline = BASELINES[name]
    table, values, columns, note = baseline_inputs(baseline, split, catalog, features)
    masks = {part: (table["split"] == part).to_numpy() for part in ("train", "dev")}
    label = table["label"].to_numpy()
    for part, mask in masks.items():
        if len(np.unique(label[mask])) < 2:
            raise ValueError(f"the {name} baseline needs both classes in the {part} split")
    if not c_grid:
        raise ValueError("the grid of C values is empty")
    grid, best = [], None
    for c in sorted(c_grid):
        model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                              _classifier(baseline.classifier, c, seed))
        model.fit(values[masks["train"]], label[masks["train"]])
        dev_auc = float(roc_auc_score(label[masks["dev"]], _scores(model, values[masks["dev"]])))
        grid.append({"C": float(c), "dev_auc": dev_auc})
        if best is None or dev_auc > best[0] + 1e-12:
            best = (dev_auc, c, model)
    _, c, model = best
    score = _scores(model, values)
    threshold = threshold_record(label[masks["dev"]], score[masks["dev"]])
    predictions = pd.DataFrame({
        "session_id": table["session_id"].to_numpy(dtype="int64"), "split": table["split"].astype(str).to_numpy(),
        "label": label.astype("int64"), "score": score.astype(np.float64),
        "pred": apply_threshold(score, threshold["threshold"]),
    })
    classifier = model[-1]
    missing = np.isnan(values)
    record = {
        "name": name, "kind": baseline.kind, "features": baseline.features,
        "classifier": CLASSIFIERS[baseline.classifier], "class_weight": "balanced",
        "C": float(c), "selected_by": "dev AUC over the grid (ties: the smallest C)", "grid": grid,
        "threshold": threshold,
        "n_train": int(masks["train"].sum()), "n_features": len(columns),
        "imputed_values": {part: int(missing[(table["split"] == part).to_numpy()].sum())
                           for part in ("train", "dev", "test")},
        "sessions_with_imputed_values": int(missing.any(axis=1).sum()),
        "note": note,
        # Coefficients on the standardised features (train mean and SD).
        "coefficients": dict(zip(columns, map(float, np.ravel(classifier.coef_)))),
        "intercept": float(np.ravel(classifier.intercept_)[0]),
    }
    log.info("%s: C %g (dev AUC %.3f), threshold %.3f (dev UAR %.3f), %d sessions with imputed values", name, c,
             best[0], threshold["threshold"], threshold["dev_uar"], record["sessions_with_imputed_values"])
    return predictions, record, threshold


def write_baseline(name, split_parquet, predictions_parquet, model_json, threshold_json, c_grid, seed,
                   catalog_parquet=None, features_parquet=None):
    """Fit one baseline and write its predictions, its model (JSON) and its threshold."""
    predictions, record, threshold = fit_baseline(
        name, pd.read_parquet(split_parquet), c_grid, seed,
        catalog=pd.read_parquet(catalog_parquet) if catalog_parquet else None,
        features=pd.read_parquet(features_parquet) if features_parquet else None,
    )
    for path in (predictions_parquet, model_json):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    predictions.to_parquet(predictions_parquet, index=False)
    Path(model_json).write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    write_threshold(threshold, threshold_json)
