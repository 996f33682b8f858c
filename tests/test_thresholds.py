"""The one threshold policy: the threshold that maximises dev UAR."""
import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from svd_explain.thresholds import apply_threshold, choose_threshold, threshold_record


def test_the_threshold_maximises_dev_uar_over_every_cut():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 60)
    score = np.clip(0.3 + 0.25 * label + rng.normal(0, 0.2, 60), 0, 1)  # a model leaning to one class
    threshold = choose_threshold(label, score)
    best = balanced_accuracy_score(label, apply_threshold(score, threshold))
    every_cut = [balanced_accuracy_score(label, (score >= t).astype(int)) for t in np.r_[score, 0.0, 1.1]]
    assert best == pytest.approx(max(every_cut))
    record = threshold_record(label, score)
    assert record["dev_uar"] == pytest.approx(best) and record["dev_uar"] >= record["dev_uar_at_0.5"]
    assert record["n_dev"] == 60 and "dev UAR" in record["policy"]


def test_ties_keep_the_cut_closest_to_one_half():
    label = np.array([0, 0, 1, 1])
    assert choose_threshold(label, np.array([0.1, 0.2, 0.8, 0.9])) == 0.5  # every cut in (0.2, 0.8] is perfect
    assert choose_threshold(label, np.array([0.6, 0.7, 0.8, 0.9])) == pytest.approx(0.75)


def test_a_model_worse_than_chance_on_dev_predicts_one_class():
    label = np.array([0, 0, 1, 1])
    threshold = choose_threshold(label, np.array([0.8, 0.9, 0.1, 0.2]))
    assert balanced_accuracy_score(label, apply_threshold(np.array([0.8, 0.9, 0.1, 0.2]), threshold)) == 0.5


def test_dev_needs_both_classes():
    with pytest.raises(ValueError, match="healthy and pathological"):
        choose_threshold(np.ones(4), np.linspace(0, 1, 4))
