"""Reading recordings in any format the catalog accepts, checking them, and resampling.

Imported by one job per recording: it must stay lean (numpy, soundfile, soxr, nspfile; no
pandas, no torch)."""
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

# A recording whose peak stays below this (about -80 dBFS) holds no usable signal.
SILENCE_PEAK = 1e-4
# Samples at or above this magnitude count as clipped.
CLIP_LEVEL = 0.999
# Brightness (share of the energy from 60 Hz to 8 kHz that lies above 1 kHz) below which a
# recording is taken for an electroglottograph (EGG) signal, not speech. An EGG follows the
# vocal folds' contact, without the vocal tract's formants, fricatives or lip radiation, so
# its spectrum falls steeply. Speech measured: 0.63 % at the least (200 synthetic phrases of
# the demo corpus: 0.63-22 %; espeak-ng's German: 6.3-24 %; MBROLA's recorded German
# diphones: 0.95-6.3 %). EGG as modelled in tests/test_defects.py: 0.18-0.29 % for contact
# rises of 1-2 ms at f0 up to 140 Hz, but 0.45-2.8 % for faster rises or higher voices, as
# bright as dark speech. So this bound catches slow-closing EGG only and keeps a margin of 2
# below the darkest speech; where the session's EGG file lies beside the phrase (the official
# archive), svd_explain.defects compares the two, which is the reliable test.
EGG_BRIGHTNESS = 0.003
# Suffixes read as Kay/CSL NSP: the voice (.nsp) and the EGG files (-egg.egg) of the archive.
NSP_SUFFIXES = (".nsp", ".egg")


class BadRecording(ValueError):
    """A recording that cannot be used; the message is the human-readable reason."""


@dataclass(frozen=True)
class RecordingInfo:
    sample_rate: int
    channels: int
    duration_s: float
    clipped_share: float


def read_recording(path, rebuild_nsp_sizes=False):
    """Samples (float64, shape (frames, channels)) and sample rate of a WAV/FLAC/NSP file
    (an archive's -egg.egg file is NSP too).

    Integer formats are scaled to [-1, 1). Raises BadRecording with the reason for an empty,
    truncated or unreadable file. rebuild_nsp_sizes: rebuild an NSP file's missing size fields
    from its length first (in memory; the file is not changed), for the archive's known
    incomplete files."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as error:
        raise BadRecording(f"cannot open file: {error.strerror}") from None
    if size == 0:
        raise BadRecording("empty file (0 bytes)")
    if path.suffix.lower() in NSP_SUFFIXES:
        samples, rate = _read_nsp(path, rebuild_nsp_sizes)
    else:
        try:
            samples, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError) as error:
            raise BadRecording(f"unreadable or corrupt audio file: {error}") from None
    return samples, int(rate)


def _read_nsp(path, rebuild_sizes=False):
    import nspfile  # only NSP inputs pay for this import

    from svd_explain.nsp import missing_sizes, rebuild_sizes as rebuilt

    try:
        if rebuild_sizes:
            # nspfile reads only from a path: the repaired copy goes to a temporary file,
            # never into the data folder.
            with tempfile.NamedTemporaryFile(suffix=".nsp") as copy:
                copy.write(rebuilt(path.read_bytes()))
                copy.flush()
                rate, data = nspfile.read(copy.name)
        else:
            rate, data = nspfile.read(str(path))
    except Exception as error:  # nspfile raises bare errors of several kinds on bad input
        if not rebuild_sizes and missing_sizes(path.read_bytes()[:4096]):
            raise BadRecording(
                "incomplete NSP file: its size fields are zero (like the archive's session 713), and it "
                "is not a known defect (resources/svd_known_defects.tsv), so it is not repaired"
            ) from None
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
    bright = brightness(samples, rate)
    if bright < EGG_BRIGHTNESS:
        raise BadRecording(
            f"looks like an electroglottograph (EGG) signal, not speech: only {100 * bright:.2f} % of its "
            f"energy lies above 1 kHz (speech: above {100 * EGG_BRIGHTNESS:.1f} %); a voice/EGG swap?"
        )
    return RecordingInfo(int(rate), int(channels), duration, clipped_share)


def brightness(samples, rate, split_hz=1000.0, low_hz=60.0, high_hz=8000.0, frame=2048):
    """Share of the energy between `low_hz` and `high_hz` that lies above `split_hz`: the
    averaged power spectrum of Hann-windowed half-overlapping frames of the channel mean.

    Speech is brighter than the electroglottograph (EGG) signal recorded with it: the EGG has
    no formants, fricatives or lip radiation. 0 for a recording with no energy in the band."""
    mono = to_mono(samples) if samples.ndim == 2 else np.asarray(samples, dtype=np.float64)
    mono = mono - mono.mean()
    if mono.size < frame:
        mono = np.pad(mono, (0, frame - mono.size))
    frames = np.lib.stride_tricks.sliding_window_view(mono, frame)[:: frame // 2]
    power = (np.abs(np.fft.rfft(frames * np.hanning(frame), axis=1)) ** 2).mean(axis=0)
    frequencies = np.fft.rfftfreq(frame, 1.0 / rate)
    band = (frequencies >= low_hz) & (frequencies < min(high_hz, rate / 2))
    total = power[band].sum()
    return float(power[band & (frequencies >= split_hz)].sum() / total) if total > 0 else 0.0


def to_mono(samples):
    """The channel mean: the SVD is mono, and a stereo export carries the same voice twice."""
    return samples.mean(axis=1)


def resample_recording(in_path, out_path, rate, rebuild_nsp_sizes=False):
    """Write `in_path` as a mono 16-bit WAV at `rate` Hz (soxr, high quality).
    rebuild_nsp_sizes: as for read_recording (the catalog's `repair` says when)."""
    samples, source_rate = read_recording(in_path, rebuild_nsp_sizes)
    if not np.isfinite(samples).all():
        raise BadRecording(f"{in_path}: NaN or infinite sample values")
    mono = to_mono(samples)
    if source_rate != rate:
        mono = soxr.resample(mono, source_rate, rate, quality="HQ")
    # Resampling can overshoot a clipped input slightly; clip rather than wrap around.
    mono = np.clip(mono, -1.0, 32767 / 32768)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(out_path), mono, rate, subtype="PCM_16")
