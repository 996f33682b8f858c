"""The one threshold policy of every model and baseline: the decision threshold on
P(pathological) is the one that maximises UAR on the dev split; it is written beside the model
and applied unchanged to every split (`pred` = score ≥ threshold). AUC does not depend on it.

Candidates are the midpoints between consecutive distinct dev scores, a threshold below and one
above all of them (one class for everything), and 0.5; among the candidates with the best dev
UAR the one closest to 0.5 is taken (the model's own decision where it is as good)."""
import json
from pathlib import Path

import numpy as np

POLICY = "maximises dev UAR (candidates: midpoints between dev scores, both ends, 0.5; ties: closest to 0.5)"


def dev_uar(label, score, threshold) -> float:
    """UAR of `score ≥ threshold` (both classes must be present)."""
    label, pred = np.asarray(label), np.asarray(score) >= threshold
    return float(((pred[label == 1]).mean() + (~pred[label == 0]).mean()) / 2)


def choose_threshold(label, score) -> float:
    """The dev-UAR-maximising threshold (see the module docstring)."""
    label, score = np.asarray(label), np.asarray(score, dtype=np.float64)
    if not ((label == 0).any() and (label == 1).any()):
        raise ValueError("choosing a threshold needs healthy and pathological dev recordings")
    values = np.unique(score)
    candidates = np.unique(np.r_[values[0] / 2, (values[1:] + values[:-1]) / 2, (values[-1] + 1) / 2, 0.5])
    pred = score[None, :] >= candidates[:, None]
    sensitivity = pred[:, label == 1].mean(axis=1)
    specificity = (~pred[:, label == 0]).mean(axis=1)
    uar = (sensitivity + specificity) / 2
    best = candidates[np.isclose(uar, uar.max(), rtol=0, atol=1e-12)]
    return float(best[np.argmin(np.abs(best - 0.5))])


def apply_threshold(score, threshold: float) -> np.ndarray:
    return (np.asarray(score) >= threshold).astype("int64")


def threshold_record(label, score) -> dict:
    """The threshold chosen on dev (label, score of the dev recordings) and what it rests on."""
    threshold = choose_threshold(label, score)
    return {
        "threshold": threshold,
        "policy": POLICY,
        "dev_uar": dev_uar(label, score, threshold),
        "dev_uar_at_0.5": dev_uar(label, score, 0.5),
        "n_dev": int(len(label)),
    }


def write_threshold(record: dict, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_threshold(path) -> float:
    return float(json.loads(Path(path).read_text(encoding="utf-8"))["threshold"])
