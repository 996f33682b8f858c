"""Confidence intervals that respect the speaker as the unit: the speaker bootstrap (with
BCa intervals through scipy.stats.bootstrap), and exact intervals for proportions.

- Bootstrap: speakers are drawn with replacement and all sessions of a drawn speaker come
  along. For classification metrics the speakers are drawn within their class (a speaker with
  any pathological session counts as pathological), so that every resample keeps both classes
  and the number of speakers of each (the stratified bootstrap, as pROC does for AUC): no
  resample is undefined and none is dropped. The interval is scipy's BCa (bias-corrected and
  accelerated; the acceleration from the leave-one-speaker-out jackknife); where BCa is
  undefined (every resample gives the same value), the percentile interval is given and the
  method says so.
- Proportions (sensitivity, specificity, recall of a group): the exact Clopper-Pearson
  interval; where a speaker has several sessions in the group, Clopper-Pearson on the
  effective sample size n / design effect (Korn & Graubard 1998), the design effect estimated
  from the speakers' session totals and never taken below 1.
"""
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy import stats

BCA = "speaker bootstrap, BCa"
PERCENTILE_FALLBACK = "speaker bootstrap, percentile (BCa undefined: every resample gave the same value)"
EXACT = "Clopper-Pearson exact"
EXACT_CLUSTERED = "Clopper-Pearson exact on the effective sample size (sessions clustered by speaker)"


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str

    def as_list(self) -> list[float]:
        return [float(self.low), float(self.high)]


def speaker_bootstrap_weights(speaker_ids, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples × sessions) weights: how often each session's speaker was drawn when the
    speakers are resampled with replacement (all sessions of a drawn speaker come along)."""
    speakers, speaker_of_session = np.unique(speaker_ids, return_inverse=True)
    n = len(speakers)
    drawn = rng.integers(0, n, size=(resamples, n))
    counts = np.bincount((drawn + n * np.arange(resamples)[:, None]).ravel(), minlength=resamples * n)
    return counts.reshape(resamples, n)[:, speaker_of_session].astype(np.float64)


def speaker_strata(speaker_ids, strata=None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(speaker index of every session, the speaker indices of each stratum).

    `strata` gives a stratum per session (for classes: the label); a speaker belongs to the
    largest stratum value among its sessions (any pathological session: pathological). None:
    one stratum."""
    speakers, speaker_of_session = np.unique(np.asarray(speaker_ids), return_inverse=True)
    if strata is None:
        return speaker_of_session, [np.arange(len(speakers))]
    stratum_of_speaker = np.full(len(speakers), -np.inf)
    np.maximum.at(stratum_of_speaker, speaker_of_session, np.asarray(strata, dtype=float))
    return speaker_of_session, [np.flatnonzero(stratum_of_speaker == value) for value in np.unique(stratum_of_speaker)]


def _session_weights(groups, speaker_of_session, n_speakers):
    """Session weights (batch × sessions) from drawn speaker indices per stratum (each batch ×
    drawn), or (sessions,) for 1-D draws."""
    drawn = np.concatenate([np.asarray(g) for g in groups], axis=-1)
    flat = drawn.reshape(-1, drawn.shape[-1]).astype(np.int64)
    rows = flat.shape[0]
    counts = np.bincount((flat + n_speakers * np.arange(rows)[:, None]).ravel(), minlength=rows * n_speakers)
    weights = counts.reshape(rows, n_speakers)[:, speaker_of_session].astype(np.float64)
    return weights.reshape(*drawn.shape[:-1], len(speaker_of_session))


def bootstrap_interval(
    statistic: Callable[[np.ndarray], np.ndarray],
    speaker_ids,
    strata=None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: Sequence[int] | int = 0,
) -> tuple[Interval, np.ndarray]:
    """BCa interval of `statistic` under the (stratified) speaker bootstrap, and the bootstrap
    distribution.

    statistic(weights) takes session weights (batch × sessions; all ones is the sample itself)
    and returns one value per row. `strata`: see speaker_strata."""
    speaker_of_session, groups = speaker_strata(speaker_ids, strata)
    n_speakers = int(speaker_of_session.max()) + 1

    def on_draws(*draws, axis=-1):
        weights = _session_weights(draws, speaker_of_session, n_speakers)
        flat = weights.reshape(-1, weights.shape[-1])
        return np.asarray(statistic(flat), dtype=np.float64).reshape(weights.shape[:-1])

    with warnings.catch_warnings():
        # BCa undefined (a degenerate distribution) is handled below.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.bootstrap(
            tuple(groups), on_draws, n_resamples=resamples, vectorized=True, confidence_level=confidence,
            method="BCa", rng=np.random.default_rng(seed), batch=min(resamples, 250),
        )
    distribution = np.asarray(result.bootstrap_distribution)
    low, high = result.confidence_interval
    if np.isfinite(low) and np.isfinite(high):
        return Interval(float(low), float(high), BCA), distribution
    tail = (1 - confidence) / 2
    low, high = np.quantile(distribution, [tail, 1 - tail])
    return Interval(float(low), float(high), PERCENTILE_FALLBACK), distribution


def _clopper_pearson(successes: float, n: float, confidence: float) -> tuple[float, float]:
    """Clopper-Pearson bounds from the beta quantiles (real-valued counts allowed)."""
    alpha = 1 - confidence
    low = 0.0 if successes <= 0 else float(stats.beta.ppf(alpha / 2, successes, n - successes + 1))
    high = 1.0 if successes >= n else float(stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return low, high


def design_effect(hits, speaker_ids) -> float:
    """Design effect of a proportion over sessions clustered by speaker: the variance of the
    ratio estimator over speakers divided by the same estimator's variance for unclustered
    sessions; at least 1 (1 when the proportion is 0 or 1, or when every speaker has one
    session)."""
    hits = np.asarray(hits, dtype=float)
    speakers, index = np.unique(np.asarray(speaker_ids), return_inverse=True)
    n, clusters = hits.size, len(speakers)
    p = hits.mean()
    if clusters == n or clusters < 2 or p in (0.0, 1.0):
        return 1.0
    totals = np.bincount(index, weights=hits)
    sizes = np.bincount(index).astype(float)
    clustered = clusters / (clusters - 1) * np.sum((totals - p * sizes) ** 2) / n**2
    # The same estimator with one session per cluster: exactly 1 for unclustered sessions.
    unclustered = p * (1 - p) / (n - 1)
    return float(max(1.0, clustered / unclustered))


def proportion_interval(hits, speaker_ids, confidence: float = 0.95) -> Interval:
    """Exact interval of the share of `hits` (0/1 per session): Clopper-Pearson, on the
    effective sample size when a speaker has several sessions."""
    hits = np.asarray(hits, dtype=float)
    if hits.size == 0:
        raise ValueError("no sessions: no proportion")
    effect = design_effect(hits, speaker_ids)
    if len(np.unique(np.asarray(speaker_ids))) == hits.size:
        return Interval(*_clopper_pearson(hits.sum(), hits.size, confidence), EXACT)
    n_effective = hits.size / effect
    return Interval(*_clopper_pearson(hits.mean() * n_effective, n_effective, confidence), EXACT_CLUSTERED)
