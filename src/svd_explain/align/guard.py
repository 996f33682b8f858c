"""The guard: is an alignment plausible? An aligner that converges to a wrong solution still
writes TextGrids that look right; every downstream phone statistic would silently inherit the
error. Each alignment is therefore checked, and one that fails is kept but marked doubtful
(results/alignment/failed.tsv gives what was implausible; its figure says so; the phone
statistics leave it out).

Checks that need nothing but the recording itself:
- speech span: the aligned speech must start and end within SPAN_TOLERANCE_S of the speech
  span found from the frame levels (features.find_speech);
- swallowing: no phone may take more than MAX_PHONE_SHARE of the aligned speech;
- pauses over speech: a pause the aligner placed inside the phrase (at least MIN_PAUSE_S
  long) must be quiet: its median frame level below the middle of the recording's level range.

Checks against the corpus the aligner was trained on (`Plausibility`, learnt from the training
alignments and stored with the model):
- phone durations: each phone's log duration within ROBUST_Z robust standard deviations
  (1.4826 x median absolute deviation) of that phone's median in the corpus;
- fit: the log-likelihood per frame no lower than ROBUST_Z robust standard deviations below the
  corpus median.

In training, a corpus in which more than MAX_DOUBTFUL_SHARE of the recordings fail counts as a
degenerate solution (a whole group of voices aligned differently from the rest shows up this
way too: whichever group is smaller fails the corpus checks)."""
from dataclasses import asdict, dataclass

import numpy as np

from svd_explain.align.features import FRAME_SHIFT_S

SPAN_TOLERANCE_S = 0.25
MAX_PHONE_SHARE = 0.35
MIN_PAUSE_S = 0.05
ROBUST_Z = 6.0
MAX_DOUBTFUL_SHARE = 0.25
# A corpus whose phone durations barely vary would flag the slightest change; the spread of a
# log duration is floored at a factor of 1.2.
MIN_LOG_SPREAD = float(np.log(1.2))
ROBUST_SD = 1.4826


@dataclass(frozen=True)
class Plausibility:
    """What the training corpus's alignments look like: per phone of the phrase (in order),
    the median and robust spread of its log duration (s); the median and robust spread of the
    log-likelihood per frame."""

    log_duration_median: tuple
    log_duration_spread: tuple
    loglike_median: float
    loglike_spread: float

    @classmethod
    def fit(cls, durations, loglikes) -> "Plausibility":
        """From the phone durations (recordings x phones, s) and log-likelihoods per frame of
        the training alignments."""
        logs = np.log(np.asarray(durations, dtype=np.float64))
        median = np.median(logs, axis=0)
        spread = np.maximum(ROBUST_SD * np.median(np.abs(logs - median), axis=0), MIN_LOG_SPREAD)
        loglikes = np.asarray(loglikes, dtype=np.float64)
        fit_median = float(np.median(loglikes))
        fit_spread = max(ROBUST_SD * float(np.median(np.abs(loglikes - fit_median))), 1e-3)
        return cls(tuple(map(float, median)), tuple(map(float, spread)), fit_median, fit_spread)

    def to_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict) -> "Plausibility":
        return cls(
            tuple(data["log_duration_median"]), tuple(data["log_duration_spread"]),
            float(data["loglike_median"]), float(data["loglike_spread"]),
        )


def recording_problems(phones, spans, pauses, levels, speech_span) -> list[str]:
    """What is implausible in one alignment on its own. `phones`: the phrase's phones;
    `spans`: [(first, end frame)] of each; `pauses`: [(first, end frame)] of the pauses inside
    the phrase; `levels`: frame levels (dBFS); `speech_span`: features.SpeechSpan."""
    problems = []
    start, end = spans[0][0], spans[-1][1]
    for edge, found, expected in (("start", start, speech_span.start), ("end", end, speech_span.end)):
        if abs(found - expected) * FRAME_SHIFT_S > SPAN_TOLERANCE_S:
            problems.append(
                f"aligned speech {edge}s at {found * FRAME_SHIFT_S:.2f} s, the signal's speech at "
                f"{expected * FRAME_SHIFT_S:.2f} s"
            )
    speech = max(end - start, 1)
    for phone, (first, last) in zip(phones, spans):
        if (last - first) / speech > MAX_PHONE_SHARE:
            problems.append(f"/{phone}/ takes {100 * (last - first) / speech:.0f} % of the phrase")
    floor, peak = np.percentile(levels, [5, 99])
    middle = floor + 0.5 * (peak - floor)
    for first, last in pauses:
        if (last - first) * FRAME_SHIFT_S >= MIN_PAUSE_S and np.median(levels[first:last]) > middle:
            problems.append(f"a pause at {first * FRAME_SHIFT_S:.2f} s lies over speech")
    return problems


def corpus_problems(phones, spans, loglike: float, plausibility: Plausibility) -> list[str]:
    """What is implausible in one alignment next to the training corpus."""
    problems = []
    durations = np.array([(last - first) * FRAME_SHIFT_S for first, last in spans])
    z = (np.log(durations) - np.asarray(plausibility.log_duration_median)) / np.asarray(plausibility.log_duration_spread)
    for k in np.flatnonzero(np.abs(z) > ROBUST_Z):
        typical = np.exp(plausibility.log_duration_median[k])
        problems.append(f"/{phones[k]}/ (phone {k + 1}) lasts {1000 * durations[k]:.0f} ms, typically {1000 * typical:.0f} ms")
    if (loglike - plausibility.loglike_median) / plausibility.loglike_spread < -ROBUST_Z:
        problems.append(
            f"the model fits it poorly (log-likelihood {loglike:.1f} per frame, typically {plausibility.loglike_median:.1f})"
        )
    return problems


def doubtful_reason(problems: list[str]) -> str:
    return "implausible alignment: " + "; ".join(problems)
