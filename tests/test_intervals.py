"""The speaker bootstrap (BCa through scipy), stratification by class, and exact intervals for
proportions, clustered by speaker."""
import numpy as np
import pytest
from scipy import stats

from svd_explain.intervals import (
    BCA,
    EXACT,
    EXACT_CLUSTERED,
    PERCENTILE_FALLBACK,
    bootstrap_interval,
    design_effect,
    proportion_interval,
    speaker_bootstrap_weights,
    speaker_strata,
)


def weighted_mean(values):
    return lambda weights: weights @ values / weights.sum(axis=1)


def test_bca_of_a_mean_agrees_with_scipys_bootstrap_of_the_sessions():
    """One session per speaker, one stratum: the speaker bootstrap is scipy's own bootstrap of
    the values, so the BCa intervals agree up to the Monte-Carlo error."""
    values = np.random.default_rng(0).lognormal(size=80)  # skewed: BCa differs from percentile
    interval, distribution = bootstrap_interval(weighted_mean(values), np.arange(80), resamples=20000, seed=1)
    reference = stats.bootstrap((values,), np.mean, n_resamples=20000, method="BCa", rng=np.random.default_rng(2))
    assert interval.method == BCA and distribution.shape == (20000,)
    assert interval.low == pytest.approx(reference.confidence_interval.low, abs=0.02)
    assert interval.high == pytest.approx(reference.confidence_interval.high, abs=0.03)


def test_speakers_are_resampled_whole_and_within_their_class():
    speakers = np.array([7, 7, 7, 3, 3, 9, 4, 4])
    labels = np.array([1, 1, 0, 0, 0, 1, 0, 0])  # speaker 7 has a pathological session: stratum 1
    speaker_of_session, groups = speaker_strata(speakers, labels)
    names = np.unique(speakers)
    assert [sorted(names[g]) for g in groups] == [[3, 4], [7, 9]]
    seen = []

    def record(weights):
        seen.append(weights)
        return weights.sum(axis=1)

    bootstrap_interval(record, speakers, labels, resamples=200, seed=0)
    weights = np.concatenate([w for w in seen if w.shape[0] > 1])
    # All sessions of a speaker share their weight; each stratum keeps its two speakers.
    for speaker in np.unique(speakers):
        columns = weights[:, speakers == speaker]
        assert (columns == columns[:, :1]).all()
    bootstrap_rows = weights[np.isclose(weights[:, [2, 5]].sum(axis=1), 2) & np.isclose(weights[:, [3, 6]].sum(axis=1), 2)]
    assert len(bootstrap_rows) >= 200


def test_a_degenerate_distribution_falls_back_to_the_percentile_interval():
    interval, _ = bootstrap_interval(lambda w: np.ones(len(w)), np.arange(10), resamples=50, seed=0)
    assert interval.method == PERCENTILE_FALLBACK and interval.as_list() == [1.0, 1.0]


def test_legacy_weights_resample_whole_speakers():
    speakers = np.array([7, 7, 7, 3, 3, 9])
    weights = speaker_bootstrap_weights(speakers, 200, np.random.default_rng(0))
    assert (weights[:, 0] == weights[:, 2]).all() and (weights[:, 3] == weights[:, 4]).all()
    assert (weights[:, [0, 3, 5]].sum(axis=1) == 3).all()


def test_exact_interval_of_ten_out_of_ten():
    interval = proportion_interval(np.ones(10), np.arange(10))
    assert interval.method == EXACT
    assert interval.low == pytest.approx(0.025 ** (1 / 10)) and interval.high == 1.0  # [0.69, 1]
    reference = stats.binomtest(7, 12).proportion_ci(0.95, method="exact")
    interval = proportion_interval(np.r_[np.ones(7), np.zeros(5)], np.arange(12))
    assert interval.as_list() == pytest.approx([reference.low, reference.high])


def test_repeated_speakers_widen_the_exact_interval():
    """Five identical sessions per speaker carry the information of one: the clustered interval
    is about the single-session one (the design effect about 5), much wider than the naive one."""
    hits = np.array([1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0])
    single = proportion_interval(hits, np.arange(hits.size))
    repeated = proportion_interval(np.repeat(hits, 5), np.repeat(np.arange(hits.size), 5))
    assert repeated.method == EXACT_CLUSTERED
    assert design_effect(np.repeat(hits, 5), np.repeat(np.arange(hits.size), 5)) == pytest.approx(59 / 11)
    assert repeated.as_list() == pytest.approx(single.as_list(), abs=0.02)
    naive = stats.binomtest(int(hits.sum()) * 5, hits.size * 5).proportion_ci(method="exact")
    assert repeated.high - repeated.low > naive.high - naive.low
    assert design_effect(hits, np.arange(hits.size)) == 1.0
