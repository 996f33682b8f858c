"""The AST's own input, summarised per recording, for the `logmel_logreg` baseline
(baselines.py): for every mel bin of the log-mel filter bank the model reads (the checkpoint's
feature extractor, unnormalised, cut to the checkpoint's input length), the mean, the standard
deviation and the mean absolute change from one frame to the next, over the louder half of the
recording's frames (the speech rather than the silence around it).

A linear model on these values asks how far the spectrogram's level, spread and frame-to-frame
flicker (where jitter, shimmer and breath noise show at a 10 ms hop) separate the classes with no
learnt representation at all. Where it beats an AST model, the information was in the AST's input
and the model did not learn to use it.

Table columns: session_id, then mean_000 … mean_{B−1}, std_000 …, delta_000 … (B mel bins), note.
A recording whose filter bank cannot be computed or summarised gets NaN and the error as its
note, as in voice_features.py: nothing stops the run, and the baselines impute it."""
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from transformers import ASTFeatureExtractor

from svd_explain.features import log_mel
from svd_explain.logs import Progress

log = logging.getLogger(__name__)
STATISTICS = ("mean", "std", "delta")


def logmel_columns(n_bins: int) -> list[str]:
    """The feature columns for `n_bins` mel bins, in the order logmel_statistics returns them."""
    return [f"{statistic}_{k:03d}" for statistic in STATISTICS for k in range(n_bins)]


def logmel_statistics(log_mel_frames: np.ndarray) -> np.ndarray:
    """Mean, SD and mean absolute frame-to-frame change per mel bin (3 × bins values) of a
    log-mel filter bank (frames × bins), over its frames whose mean level is at least the
    median frame's; the change is taken between successive frames of that selection (across a
    quiet frame left out, too: at this level of summary the few such jumps do not matter).
    Needs at least two frames."""
    if log_mel_frames.ndim != 2 or len(log_mel_frames) < 2:
        raise ValueError(f"need a filter bank of at least 2 frames x bins, got shape {log_mel_frames.shape}")
    level = log_mel_frames.mean(axis=1)
    louder = log_mel_frames[level >= np.median(level)]
    if len(louder) < 2:
        # A louder half of one frame (a filter bank of two frames at different levels): use them all.
        louder = log_mel_frames
    change = np.abs(np.diff(louder, axis=0)).mean(axis=0)
    return np.concatenate([louder.mean(axis=0), louder.std(axis=0), change])


def logmel_table(wav_paths: Sequence[str], session_ids: Sequence[int], checkpoint_dir: str) -> pd.DataFrame:
    """The statistics of every recording (wav_paths[k] is session_ids[k]) as the checkpoint's
    feature extractor gives its input: one row per session, sorted by session_id."""
    if len(wav_paths) != len(session_ids):
        raise ValueError(f"{len(wav_paths)} recordings but {len(session_ids)} session ids")
    extractor = ASTFeatureExtractor.from_pretrained(checkpoint_dir, local_files_only=True)
    columns = logmel_columns(extractor.num_mel_bins)
    rows, notes = [], []
    progress = Progress("log-mel statistics", len(wav_paths))
    for done, (path, session_id) in enumerate(zip(wav_paths, session_ids), start=1):
        try:
            rows.append(logmel_statistics(log_mel(path, extractor)[: extractor.max_length]))
            notes.append("")
        except (ValueError, RuntimeError, OSError) as error:
            log.warning("session %s: no log-mel statistics (%s)", session_id, error)
            rows.append(np.full(len(columns), np.nan))
            notes.append(f"log-mel statistics failed: {error}")
        progress.update(done)
    table = pd.DataFrame(np.array(rows).reshape(len(rows), len(columns)), columns=columns)
    table.insert(0, "session_id", np.asarray(session_ids, dtype="int64"))
    table["note"] = notes
    log.info("%d recordings: %d statistics each (%d mel bins, at most %d frames: the checkpoint's input length)",
             len(table), table.shape[1] - 1, extractor.num_mel_bins, extractor.max_length)
    return table.sort_values("session_id", ignore_index=True)


def write_logmel_table(wav_paths, session_ids, checkpoint_dir, parquet_path) -> None:
    """logmel_table, written to `parquet_path`."""
    logmel_table(wav_paths, session_ids, checkpoint_dir).to_parquet(parquet_path, index=False)
