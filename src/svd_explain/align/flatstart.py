"""The flat start: a first phone segmentation of every recording, from which the first models
are estimated. It uses no acoustic model, no phone-specific rule and no threshold tuned to any
voice.

When every recording reads the same phrase, EM keeps whatever systematic error the first
segmentation has, and Kaldi's equal alignment (phones spread evenly over the recording) is off
by 100 ms and more in the middle of the phrase: speakers pause, and phones differ tenfold in
length. Instead, each recording is cut into the phrase's phones, in order, with an optional
pause before, between and after the words, by dynamic programming over its frames:

- a phone costs the squared distance of its frames' static cepstra to their own mean (a
  piecewise-constant fit: the boundaries go where the spectrum changes most);
- a pause costs the squared distance of its frames to the recording's silence: the mean of its
  frames outside its energy-based speech span (`features.find_speech`, the one acoustic
  prior, learnt from the recording itself: silence is what lies outside speech; the corpus's
  silence for a recording with too little of its own).

With a common scale for both costs the segmentation has no free parameter: a stretch becomes
a pause when its frames are nearer the corpus's silence than the phones around it could make
them. Pauses must last at least MIN_PAUSE_FRAMES; phones at most MAX_PHONE_FRAMES.

Measured on speech this project did not write (benchmarks/align_external.py): the flat start
alone puts 55-90 % of the boundaries within 20 ms, against 20-40 % for equal alignment within
the speech span."""
from dataclasses import dataclass

import numpy as np

from svd_explain.align.features import Recording, static_cepstra

MAX_PHONE_FRAMES = 80
MIN_PAUSE_FRAMES = 3
MIN_SILENCE_FRAMES = 10


@dataclass(frozen=True)
class PhraseUnits:
    """The phrase as the flat start sees it: for each unit, whether it is an optional pause
    (else a phone), and the phones in order."""

    is_pause: tuple
    phones: tuple

    @classmethod
    def of(cls, pronunciations) -> "PhraseUnits":
        """From [(word, phones), ...]: a pause slot before, between and after the words."""
        is_pause, phones = [True], []
        for _, pron in pronunciations:
            is_pause += [False] * len(pron) + [True]
            phones += list(pron)
        return cls(tuple(is_pause), tuple(phones))


def silence_mean(recordings: list[Recording]) -> np.ndarray:
    """The mean static cepstra of the frames outside every recording's speech span."""
    outside = [
        static_cepstra(np.concatenate([r.feats[:r.span.start], r.feats[r.span.end:]])) for r in recordings
    ]
    frames = np.concatenate(outside)
    if len(frames) == 0:
        raise ValueError("no recording has frames outside its speech span to learn silence from")
    return frames.mean(axis=0)


def segment(cepstra: np.ndarray, units: PhraseUnits, silence: np.ndarray) -> list[tuple[int, int]]:
    """[(first frame, end frame)] of each phone of `units` in one recording (frames x cepstra),
    by the least total cost described above; ValueError when the recording is too short to
    hold every phone."""
    x = np.asarray(cepstra, dtype=np.float64)
    frames = len(x)
    if frames < len(units.phones):
        raise ValueError(f"{frames} frames cannot hold {len(units.phones)} phones")
    sums = np.vstack([np.zeros(x.shape[1]), np.cumsum(x, axis=0)])
    squares = np.concatenate([[0.0], np.cumsum((x**2).sum(axis=1))])
    to_silence = np.concatenate([[0.0], np.cumsum(((x - silence) ** 2).sum(axis=1))])
    ends = np.arange(frames + 1)

    best = np.full(frames + 1, np.inf)
    best[0] = 0.0
    back = []
    for pause in units.is_pause:
        if pause:
            # Skipping the pause costs nothing; taking it costs its frames' distance to silence.
            starts = ends[:, None] - np.arange(MIN_PAUSE_FRAMES, frames + 1)[None, :]
            valid = starts >= 0
            safe = np.where(valid, starts, 0)
            cost = np.where(valid, best[safe] + to_silence[ends][:, None] - to_silence[safe], np.inf)
        else:
            lengths = np.arange(1, MAX_PHONE_FRAMES + 1)
            starts = ends[:, None] - lengths[None, :]
            valid = starts >= 0
            safe = np.where(valid, starts, 0)
            span = sums[ends][:, None, :] - sums[safe]
            within = squares[ends][:, None] - squares[safe] - (span**2).sum(axis=2) / lengths[None, :]
            cost = np.where(valid, best[safe] + within, np.inf)
        choice = np.argmin(cost, axis=1)
        start = starts[ends, choice]
        new = cost[ends, choice]
        if pause:
            skip = best < new
            new = np.where(skip, best, new)
            start = np.where(skip, ends, start)
        best = new
        back.append(start)
    if not np.isfinite(best[frames]):
        raise ValueError("no segmentation fits the phrase into the recording")
    spans, end = [], frames
    for pause, starts in zip(reversed(units.is_pause), reversed(back)):
        start = int(starts[end])
        if not pause:
            spans.append((start, end))
        end = start
    return spans[::-1]


def recording_silence(recording: Recording, corpus_silence: np.ndarray) -> np.ndarray:
    """A recording's own silence: the mean of its frames outside its speech span (noise and
    room differ from recording to recording), or the corpus's when it has fewer than
    MIN_SILENCE_FRAMES of them."""
    outside = np.concatenate([recording.feats[:recording.span.start], recording.feats[recording.span.end:]])
    if len(outside) < MIN_SILENCE_FRAMES:
        return corpus_silence
    return static_cepstra(outside).mean(axis=0)


def flat_start(recordings: list[Recording], pronunciations) -> dict:
    """{key: [(first frame, end frame)] per phone} for every recording that can hold the
    phrase."""
    units = PhraseUnits.of(pronunciations)
    corpus_silence = silence_mean(recordings)
    spans = {}
    for recording in recordings:
        silence = recording_silence(recording, corpus_silence)
        try:
            spans[recording.key] = segment(static_cepstra(recording.feats), units, silence)
        except ValueError:
            continue
    return spans
