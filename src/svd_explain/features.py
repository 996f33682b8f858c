"""AST inputs from the 16 kHz recordings, computed with a model's saved feature extractor.

Training, prediction and rollout all read audio through these functions, so the model always
sees the same features. The extractor (`ASTFeatureExtractor`) computes a Kaldi-compatible log-mel
filter bank (25 ms windows every 10 ms), pads or truncates it to its `max_length` and only then
normalises, so padded frames are not zero in the model input (see docs and notes/ast.md)."""
import logging
from pathlib import Path

import pandas as pd
import soundfile
import torch

log = logging.getLogger(__name__)

WINDOW_SAMPLES = 400  # 25 ms at 16 kHz
HOP_SAMPLES = 160  # 10 ms at 16 kHz
CHUNK = 64  # recordings featurised per call to the extractor, to bound temporary memory


def num_frames(num_samples):
    """Frames of the extractor's filter bank for a recording of `num_samples` samples."""
    return 1 + (num_samples - WINDOW_SAMPLES) // HOP_SAMPLES


def read_wav(path, sampling_rate):
    """A mono recording as float32 in [-1, 1]; refuses other rates, several channels, or
    recordings shorter than one analysis window."""
    audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    if rate != sampling_rate:
        raise ValueError(f"{path}: sampled at {rate} Hz, the feature extractor needs {sampling_rate} Hz")
    if audio.shape[1] != 1:
        raise ValueError(f"{path}: {audio.shape[1]} channels, expected mono")
    if audio.shape[0] < WINDOW_SAMPLES:
        raise ValueError(f"{path}: {audio.shape[0]} samples, shorter than one {WINDOW_SAMPLES}-sample window")
    return audio[:, 0]


def input_frames(wav_path, feature_extractor) -> int:
    """The frames a recording fills in the model's input: its own, at most max_length."""
    return min(num_frames(read_wav(wav_path, feature_extractor.sampling_rate).size), feature_extractor.max_length)


def log_mel(wav_path, feature_extractor):
    """The unnormalised log-mel filter bank of one recording, frames x mel bins, unpadded:
    the extractor's own computation, with padding and normalisation switched off."""
    waveform = read_wav(wav_path, feature_extractor.sampling_rate)
    unpadded = type(feature_extractor)(
        **{**feature_extractor.to_dict(), "max_length": num_frames(len(waveform)), "do_normalize": False}
    )
    features = unpadded(waveform, sampling_rate=feature_extractor.sampling_rate, return_tensors="np")
    return features["input_values"][0]


def waveform_inputs(waveforms, feature_extractor):
    """The model inputs of float waveforms at the extractor's rate: a float32 tensor
    (waveforms x max_length x mel bins), computed CHUNK waveforms at a time."""
    inputs = torch.empty(len(waveforms), feature_extractor.max_length, feature_extractor.num_mel_bins, dtype=torch.float32)
    for start in range(0, len(waveforms), CHUNK):
        features = feature_extractor(
            waveforms[start : start + CHUNK], sampling_rate=feature_extractor.sampling_rate, return_tensors="pt"
        )
        inputs[start : start + CHUNK] = features["input_values"]
    return inputs


def load_inputs(wav_paths, feature_extractor):
    """The model inputs of `wav_paths`: a float32 tensor (recordings x max_length x mel bins).

    Recordings longer than the extractor's max_length are truncated to it (logged)."""
    wav_paths = list(wav_paths)
    max_length = feature_extractor.max_length
    inputs = torch.empty(len(wav_paths), max_length, feature_extractor.num_mel_bins, dtype=torch.float32)
    truncated = []
    for start in range(0, len(wav_paths), CHUNK):
        chunk = wav_paths[start : start + CHUNK]
        waveforms = [read_wav(path, feature_extractor.sampling_rate) for path in chunk]
        truncated += [path for path, w in zip(chunk, waveforms) if num_frames(len(w)) > max_length]
        inputs[start : start + len(chunk)] = waveform_inputs(waveforms, feature_extractor)
    if truncated:
        log.warning(
            "%d of %d recordings are longer than max_length %d frames and were truncated, e.g. %s",
            len(truncated), len(wav_paths), max_length, truncated[0],
        )
    return inputs


SPLITS = ("train", "dev", "test")


def split_recordings(split_path, audio_dir):
    """The split table (session_id, split, label, ...) with each recording's WAV path in `wav`,
    sorted by session_id. Refuses unknown splits or labels, repeated sessions and missing audio."""
    table = pd.read_parquet(split_path)
    missing = {"session_id", "split", "label"} - set(table.columns)
    if missing:
        raise ValueError(f"{split_path}: missing column(s) {sorted(missing)}")
    if table["session_id"].duplicated().any():
        raise ValueError(f"{split_path}: repeated session ids {table.loc[table['session_id'].duplicated(), 'session_id'].tolist()[:5]}")
    bad_split = ~table["split"].isin(SPLITS)
    if bad_split.any():
        raise ValueError(f"{split_path}: unknown split(s) {sorted(set(table.loc[bad_split, 'split']))}")
    bad_label = ~table["label"].isin([0, 1])
    if bad_label.any():
        raise ValueError(f"{split_path}: labels must be 0 (healthy) or 1 (pathological), got {sorted(set(table.loc[bad_label, 'label']))}")
    table = table.sort_values("session_id", ignore_index=True)
    table["session_id"] = table["session_id"].astype("int64")
    table["label"] = table["label"].astype("int64")
    table["wav"] = [Path(audio_dir, f"{s}.wav") for s in table["session_id"]]
    absent = [str(p) for p in table["wav"] if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{len(absent)} recording(s) of the split have no audio, e.g. {absent[0]}")
    return table
