"""Reading recordings in any format the catalog accepts, checking them, and resampling.

Imported by one job per recording: it must stay lean (numpy, soundfile, soxr, nspfile; no
pandas, no torch)."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

# A recording whose peak stays below this (about -80 dBFS) holds no usable signal.
SILENCE_PEAK = 1e-4
# Samples at or above this magnitude count as clipped.
CLIP_LEVEL = 0.999


class BadRecording(ValueError):
    """A recording that cannot be used; the message is the human-readable reason."""


@dataclass(frozen=True)
class RecordingInfo:
    sample_rate: int
    channels: int
    duration_s: float
    clipped_share: float


def read_recording(path):
    """Samples (float64, shape (frames, channels)) and sample rate of a WAV/FLAC/NSP file.

    Integer formats are scaled to [-1, 1). Raises BadRecording with the reason for an empty,
    truncated or unreadable file."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise BadRecording(f"cannot open file: {error.strerror}") from None
    if size == 0:
        raise BadRecording("empty file (0 bytes)")
    if path.suffix.lower() == ".nsp":
        samples, rate = _read_nsp(path)
    else:
        try:
            samples, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError) as error:
            raise BadRecording(f"unreadable or corrupt audio file: {error}") from None
    return samples, int(rate)


def _read_nsp(path):
    import nspfile  # only NSP inputs pay for this import

    try:
        rate, data = nspfile.read(str(path))
    except Exception as error:  # nspfile raises bare errors of several kinds on bad input
        raise BadRecording(f"unreadable or corrupt NSP file: {error}") from None
    data = np.asarray(data)
    if data.ndim == 1:
        data = data[:, None]
    if np.issubdtype(data.dtype, np.integer):
        data = data.astype(np.float64) / 32768.0
    return data.astype(np.float64), rate


def check_recording(samples, rate, min_duration_s, max_duration_s):
    """Why these samples are unusable (BadRecording), or their RecordingInfo."""
    frames, channels = samples.shape
    if frames == 0:
        raise BadRecording("no samples (zero-length audio)")
    if not np.isfinite(samples).all():
        raise BadRecording("NaN or infinite sample values")
    duration = frames / rate
    if duration < min_duration_s:
        raise BadRecording(f"too short: {duration:.3f} s < {min_duration_s} s")
    if duration > max_duration_s:
        raise BadRecording(f"too long: {duration:.1f} s > {max_duration_s} s")
    peak = float(np.abs(samples).max())
    if peak < SILENCE_PEAK:
        raise BadRecording(f"silent: peak amplitude {peak:.1e} (below {SILENCE_PEAK:.0e})")
    clipped_share = float((np.abs(samples) >= CLIP_LEVEL).any(axis=1).mean())
    return RecordingInfo(int(rate), int(channels), duration, clipped_share)


def to_mono(samples):
    """The channel mean: the SVD is mono, and a stereo export carries the same voice twice."""
    return samples.mean(axis=1)


def resample_recording(in_path, out_path, rate):
    """Write `in_path` as a mono 16-bit WAV at `rate` Hz (soxr, high quality)."""
    samples, source_rate = read_recording(in_path)
    if not np.isfinite(samples).all():
        raise BadRecording(f"{in_path}: NaN or infinite sample values")
    mono = to_mono(samples)
    if source_rate != rate:
        mono = soxr.resample(mono, source_rate, rate, quality="HQ")
    # Resampling can overshoot a clipped input slightly; clip rather than wrap around.
    mono = np.clip(mono, -1.0, 32767 / 32768)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(out_path), mono, rate, subtype="PCM_16")
