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
import numpy as np
from sklearn.metrics import roc_auc_score

from svd_explain.frames import frame_centres


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
