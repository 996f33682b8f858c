"""What the Kaldi aligner sees of a recording: its samples, frames, features and levels.

Features: 13 MFCC (Kaldi's defaults, `snip_edges=False`) + deltas + delta-deltas, normalised
per recording to zero mean and unit variance (cepstral mean and variance normalisation), so
that voices, microphones and levels meet the models on the same scale. Frame levels (dBFS) on
the same frames give the speech span between the leading and the trailing silence."""
from dataclasses import dataclass

import kaldi_native_fbank as knf
import numpy as np
import soundfile

FRAME_SHIFT_S = 0.010
FRAME_LENGTH_S = 0.025
NUM_CEPS = 13
DELTA_ORDER = 2
# Kaldi's default dither (1 on the 16-bit scale), drawn from a fixed seed so that features are
# reproducible; it keeps digital silence from collapsing the silence model's variance.
DITHER = 1.0
DITHER_SEED = 0
# A recording whose frame levels span less than this has no speech to align; frames above
# floor + SPEECH_THRESHOLD * (peak - floor) are speech. Relative to the recording's own level
# range: no absolute level is assumed.
MIN_DYNAMIC_RANGE_DB = 10.0
SPEECH_THRESHOLD = 0.2
# The variance of a feature that does not vary in a recording is floored, not divided by zero.
MIN_STD = 1e-3


class AlignmentFailure(Exception):
    """A recording that cannot be aligned; the message is the reason written to the tables."""


def read_audio(path) -> tuple[np.ndarray, int]:
    """Mono samples in [-1, 1] (float64) and the sample rate; other channel counts raise."""
    samples, sample_rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    if samples.shape[1] != 1:
        raise ValueError(f"{path}: expected mono audio, got {samples.shape[1]} channels")
    return samples[:, 0], sample_rate


def check_sample_rate(path, rate: int, expected: int) -> None:
    """A recording at another rate than the model's is a pipeline error, not a bad recording."""
    if rate != expected:
        raise ValueError(f"{path}: sample rate {rate} Hz, the aligner expects {expected} Hz")


def num_frames(num_samples: int, sample_rate: int) -> int:
    """Frames of a recording with `snip_edges=False`: one per 10 ms, centred on it."""
    shift = round(FRAME_SHIFT_S * sample_rate)
    return (num_samples + shift // 2) // shift


def frame_to_time(frame):
    """The time (s) of the boundary before `frame`: frame f is centred at (f + 0.5) * 10 ms with
    `snip_edges=False`, so the boundary between frames f - 1 and f lies at f * 10 ms."""
    return frame * FRAME_SHIFT_S


def mfcc_features(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """MFCC + deltas + delta-deltas (frames x 39, float32), mean- and variance-normalised per
    recording."""
    opts = knf.MfccOptions()
    opts.frame_opts.samp_freq = sample_rate
    opts.frame_opts.frame_shift_ms = FRAME_SHIFT_S * 1000
    opts.frame_opts.frame_length_ms = FRAME_LENGTH_S * 1000
    opts.frame_opts.snip_edges = False
    opts.frame_opts.dither = 0.0
    opts.num_ceps = NUM_CEPS
    # Kaldi's tools read 16-bit samples unscaled; keep that scale so that the energy floor and
    # the dither mean what they mean in Kaldi.
    noise = np.random.default_rng(DITHER_SEED).standard_normal(len(samples)) * DITHER
    waveform = (samples * 32768.0 + noise).astype(np.float32)
    extractor = knf.OnlineMfcc(opts)
    extractor.accept_waveform(sample_rate, waveform)
    extractor.input_finished()
    mfcc = np.stack([extractor.get_frame(i) for i in range(extractor.num_frames_ready)])
    feats = knf.compute_deltas(knf.DeltaOptions(order=DELTA_ORDER, window=2), mfcc)
    feats = feats - feats.mean(axis=0)
    return (feats / np.maximum(feats.std(axis=0), MIN_STD)).astype(np.float32)


def static_cepstra(feats: np.ndarray) -> np.ndarray:
    """The 13 static cepstra of a feature matrix (its first columns)."""
    return feats[:, :NUM_CEPS]


def frame_levels_db(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The RMS level (dBFS) of each 25 ms analysis frame, on the same frames as the features."""
    shift = round(FRAME_SHIFT_S * sample_rate)
    length = round(FRAME_LENGTH_S * sample_rate)
    count = num_frames(len(samples), sample_rate)
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    centres = np.arange(count) * shift + shift // 2
    first = np.clip(centres - length // 2, 0, len(samples))
    last = np.clip(centres + length // 2, 0, len(samples))
    mean_square = (energy[last] - energy[first]) / np.maximum(last - first, 1)
    return 10 * np.log10(np.maximum(mean_square, 1e-12))


@dataclass(frozen=True)
class SpeechSpan:
    """Frames [start, end) between the leading and the trailing silence."""

    start: int
    end: int


def find_speech(levels: np.ndarray) -> SpeechSpan:
    """The speech span of a recording from its frame levels (dBFS); AlignmentFailure when the
    levels are too flat to hold speech."""
    floor, peak = np.percentile(levels, [5, 99])
    if peak - floor < MIN_DYNAMIC_RANGE_DB:
        raise AlignmentFailure(
            f"silent: frame levels span only {peak - floor:.1f} dB "
            f"(loudest {peak:.0f} dBFS); speech needs {MIN_DYNAMIC_RANGE_DB:.0f} dB"
        )
    loud = np.flatnonzero(levels > floor + SPEECH_THRESHOLD * (peak - floor))
    return SpeechSpan(int(loud[0]), int(loud[-1]) + 1)


@dataclass
class Recording:
    """A recording ready to align: features, frame levels (dBFS), speech span, duration (s)."""

    key: str
    feats: np.ndarray
    levels: np.ndarray
    span: SpeechSpan
    duration: float


def prepare_recording(key, samples: np.ndarray, sample_rate: int, min_frames: int) -> Recording:
    """Features and speech span of a recording; AlignmentFailure when it is shorter than
    `min_frames` frames or silent."""
    duration = len(samples) / sample_rate
    frames = num_frames(len(samples), sample_rate)
    if frames < min_frames:
        raise AlignmentFailure(
            f"too short: {duration:.2f} s; the phrase needs at least "
            f"{min_frames * FRAME_SHIFT_S:.2f} s ({min_frames} frames of 10 ms)"
        )
    levels = frame_levels_db(samples, sample_rate)
    span = find_speech(levels)
    return Recording(str(key), mfcc_features(samples, sample_rate), levels, span, duration)
