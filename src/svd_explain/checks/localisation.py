"""Localisation: does a map put its relevance where the pathology cue was planted? (synthetic
corpus only: results/corpus/cues.parquet says where each pathological recording carries its
cue.) In the manner of Bolaños et al. (Interspeech 2025), who score time-localised audio
explanations against annotated events.

Per recording, each frame's relevance is the map's positive part summed over the mel bins
(positive: towards the explained decision; the signed methods' negative cells say "against").
- lift: the share of the relevance on the cue frames divided by the share of frames that are
  cue frames (1: no better than spreading it evenly; 2: twice as concentrated on the cue);
- auc: the ROC AUC of frame relevance against the cue mask (0.5: chance).
A frame is a cue frame when its window centre lies inside a cue span."""
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from svd_explain.frames import frame_centres
from svd_explain.relevance import speaker_bootstrap_interval


def cue_mask(spans, n_frames: int) -> np.ndarray:
    """The frames (of `n_frames`) whose centre lies in any of the (start, end) spans (s)."""
    centres = frame_centres(n_frames)
    mask = np.zeros(n_frames, dtype=bool)
    for start, end in spans:
        mask |= (centres >= start) & (centres < end)
    return mask


def frame_relevance(relevance: np.ndarray) -> np.ndarray:
    """Per frame of a map (mel bins × frames): the positive relevance summed over mel bins."""
    return np.nansum(np.clip(relevance, 0, None), axis=0)


def localisation(relevance: np.ndarray, mask: np.ndarray) -> dict:
    """{"lift", "auc", "cue_share"} of one map against its cue mask; NaN where undefined (no
    relevance, no cue frame or no other frame)."""
    per_frame = frame_relevance(relevance)
    if len(per_frame) != len(mask):
        raise ValueError(f"the map has {len(per_frame)} frames, the cue mask {len(mask)}")
    cue_share = float(mask.mean())
    total = per_frame.sum()
    if total <= 0 or not 0 < cue_share < 1:
        return {"lift": float("nan"), "auc": float("nan"), "cue_share": cue_share}
    lift = float(per_frame[mask].sum() / total / cue_share)
    return {"lift": lift, "auc": float(roc_auc_score(mask, per_frame)), "cue_share": cue_share}


RECORDING_COLUMNS = ["method", "model", "session_id", "speaker_id", "lift", "auc", "cue_share"]
SUMMARY_COLUMNS = ["method", "model", "n", "lift", "lift_low", "lift_high", "auc", "auc_low", "auc_high"]


def planted_spans(cues_path) -> dict:
    """{session: [(start, end) s]} of the sessions that carry a planted cue."""
    cues = pd.read_parquet(cues_path)
    cues = cues[cues["planted"]]
    return {int(s): list(zip(g["cue_start_s"], g["cue_end_s"])) for s, g in cues.groupby("session_id")}


def write_localisation(pairs, map_paths, cues_path, split_path, recordings_path, table_path, resamples=1000,
                       confidence=0.95, seed=0):
    """Localisation of every (method, model) in `pairs` (their map files in `map_paths`, in the
    same order) on the test recordings that carry a planted cue: per recording
    (`recordings_path`, Parquet, RECORDING_COLUMNS) and per method and model (`table_path`, TSV,
    SUMMARY_COLUMNS: mean lift and AUC with speaker-bootstrap intervals, NaN with fewer than
    three speakers)."""
    spans = planted_spans(cues_path)
    split = pd.read_parquet(split_path).set_index("session_id")
    test = [s for s in split.index[split["split"] == "test"] if s in spans]
    rows = []
    for (method, model), map_path in zip(pairs, map_paths, strict=True):
        with np.load(map_path, allow_pickle=False) as maps:
            for session in test:
                relevance = maps[f"{session}.relevance"]
                if not np.isfinite(relevance).any():
                    continue
                result = localisation(relevance, cue_mask(spans[session], relevance.shape[1]))
                rows.append({"method": method, "model": model, "session_id": int(session),
                             "speaker_id": int(split.loc[session, "speaker_id"]), **result})
    per_recording = pd.DataFrame(rows, columns=RECORDING_COLUMNS)
    Path(recordings_path).parent.mkdir(parents=True, exist_ok=True)
    per_recording.to_parquet(recordings_path, index=False)
    summary = []
    for index, ((method, model), group) in enumerate(per_recording.groupby(["method", "model"], sort=False)):
        group = group.dropna(subset=["lift", "auc"])
        lift = speaker_bootstrap_interval(group["lift"], group["speaker_id"], resamples, confidence, [seed, index, 0])
        auc = speaker_bootstrap_interval(group["auc"], group["speaker_id"], resamples, confidence, [seed, index, 1])
        summary.append({"method": method, "model": model, "n": len(group), "lift": group["lift"].mean(),
                        "lift_low": lift[0], "lift_high": lift[1], "auc": group["auc"].mean(), "auc_low": auc[0],
                        "auc_high": auc[1]})
    table = pd.DataFrame(summary, columns=SUMMARY_COLUMNS)
    table.to_csv(table_path, sep="\t", index=False, float_format="%.4g")
    return table
