"""Relevance maps of one model by one explainer, for the recordings of the configured splits, in
the map files' common format (the one rollout.py documents): for every session `<s>`,
`<s>.relevance` (mel bins × frames, float32, cropped to the recording; NaN where the method
has no value), `<s>.fbank` (the unnormalised log-mel filter bank, same shape) and
`<s>.padding_share` (the share of the uncropped map's positive mass on the padding frames).

The explainers (`METHODS`):
  rollout                  attention rollout (rollout.py), class-agnostic: the study's
  attention_pathological   gradient-weighted attention relevance (attention_relevance.py) for
                           "pathological", whatever the model predicts
  attention_predicted      the same for the class the model predicts
  phone_occlusion          the log-odds lost when each aligned phone is removed
                           (occlusion.py); it also writes its effect table
  integrated_gradients     Integrated Gradients from the recording blurred over time, or from
                           the padding value (integrated_gradients.py)

Phone occlusion needs the recording's alignment: a recording without one the phone statistics
may use (not aligned, or doubtful) gets a map of NaN and no rows in the effect table, and the
log says which."""
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from svd_explain import attention_relevance, features, integrated_gradients, occlusion, rollout
from svd_explain.align.status import phones_usable, read_status
from svd_explain.ast_model import load_model, quiet_progress_bars, resolve_device
from svd_explain.logs import Progress
from svd_explain.relevance import phone_occurrences
from svd_explain.textgrids import read_alignment

log = logging.getLogger(__name__)

METHODS = ("rollout", "attention_pathological", "attention_predicted", "phone_occlusion", "integrated_gradients")
EFFECT_COLUMNS = ["session_id", "speaker_id", "label", "word", "position", "phone", "start", "end", "effect"]


@dataclass
class Settings:
    """What the explainers need beside the model and its inputs."""

    baseline: float  # the padding value
    head_fusion: str = "mean"
    tokens: str = "mean"
    occlusion_fill: str | None = "noise_floor"  # occlusion.FILLS; None where no phone is occluded
    ig_baseline: str | None = "blur"  # integrated_gradients.BASELINES; None where IG does not run
    alignments: dict = field(default_factory=dict)  # session -> (words, phones), usable ones only


def method_maps(method, model, input_values, sessions, n_frames, settings: Settings):
    """(scores or log-odds per recording, maps (recordings × mel bins × max_length), extra)
    of one batch; `extra` is the phone effect rows of phone occlusion (else empty)."""
    if method == "rollout":
        scores, maps = rollout.relevance_maps(model, input_values, settings.head_fusion, settings.tokens)
        return scores, maps, []
    if method in ("attention_pathological", "attention_predicted"):
        target = method.removeprefix("attention_")
        scores, maps = attention_relevance.relevance_maps(model, input_values, target, settings.tokens)
        return scores, maps, []
    if method == "integrated_gradients":
        baseline = integrated_gradients.baseline_values(settings.ig_baseline, input_values, n_frames, settings.baseline)
        odds, maps = integrated_gradients.relevance_maps(model, input_values, baseline)
        return odds, maps, []
    if method == "phone_occlusion":
        return _occlusion(model, input_values, sessions, n_frames, settings)
    raise ValueError(f"unknown explainer {method!r}; the explainers are {', '.join(METHODS)}")


def _occlusion(model, input_values, sessions, n_frames, settings):
    max_length = input_values.shape[1]
    aligned = [k for k, s in enumerate(sessions) if s in settings.alignments]
    maps = np.full((len(sessions), input_values.shape[2], max_length), np.nan, dtype=np.float32)
    odds = np.full(len(sessions), np.nan)
    rows = []
    if not aligned:
        return odds, maps, rows
    occurrences = {s: phone_occurrences(*settings.alignments[s]) for s in sessions if s in settings.alignments}
    masks = np.stack([occlusion.phone_feature_mask(settings.alignments[sessions[k]][1], max_length, n_frames[k])
                      for k in aligned])
    fill = occlusion.fill_values(settings.occlusion_fill, input_values[aligned], [n_frames[k] for k in aligned],
                                 settings.baseline)
    found, effects, aligned_maps = occlusion.phone_effects(model, input_values[aligned], masks, fill)
    for row, k in enumerate(aligned):
        maps[k], odds[k] = aligned_maps[row], found[row]
        for index, (word, position, phone, start, end) in enumerate(occurrences[sessions[k]]):
            if index < effects.shape[1] and np.isfinite(effects[row, index]):
                rows.append({"session_id": sessions[k], "word": word, "position": position, "phone": phone,
                             "start": start, "end": end, "effect": float(effects[row, index])})
    return odds, maps, rows


def usable_alignments(sessions, alignment_dir, status_dir) -> dict:
    """{session: (words, phones)} of the sessions whose alignment the phone statistics may use."""
    found = {}
    for session in sessions:
        status = read_status(Path(status_dir, f"{session}.json"))
        if phones_usable(status):
            words, phones, _ = read_alignment(Path(alignment_dir, f"{session}.TextGrid"))
            found[session] = (words, phones)
        else:
            log.warning("session %s: %s: no phone occlusion", session, status["reason"])
    return found


def write_maps(method, model_dir, split_path, audio_dir, out_path, splits="test", batch_size=8, device="auto",
               head_fusion="mean", tokens="mean", alignment_dir=None, status_dir=None, effects_path=None, threads=None,
               occlusion_fill="noise_floor", ig_baseline="blur"):
    """The maps of `method` for the model in `model_dir` and every recording of `splits` ("test"
    or "all") of the split table, from `audio_dir`/<session>.wav, into `out_path`; phone
    occlusion (its removed phones replaced as `occlusion_fill` says: occlusion.FILLS) also
    writes its effect table (EFFECT_COLUMNS) to `effects_path` (Parquet); Integrated Gradients
    starts from `ig_baseline` (integrated_gradients.BASELINES)."""
    if method not in METHODS:
        raise ValueError(f"unknown explainer {method!r}; the explainers are {', '.join(METHODS)}")
    occlusion.check_fill(occlusion_fill)
    if method == "integrated_gradients":
        integrated_gradients.check_baseline(ig_baseline)
    if splits not in ("test", "all"):
        raise ValueError(f"splits must be test or all, not {splits!r}")
    if method == "phone_occlusion" and (alignment_dir is None or status_dir is None or effects_path is None):
        raise ValueError("phone occlusion needs the alignments, their statuses and a path for its effect table")
    if threads:
        torch.set_num_threads(threads)
    quiet_progress_bars()
    recordings = features.split_recordings(split_path, audio_dir)
    if splits == "test":
        recordings = recordings[recordings["split"] == "test"]
    if recordings.empty:
        raise ValueError(f"{split_path}: no recordings in split(s) {splits!r}")
    model, extractor = load_model(model_dir)
    model = model.to(resolve_device(device)[0]).eval()
    sessions = [int(s) for s in recordings["session_id"]]
    settings = Settings(occlusion.padding_value(extractor), head_fusion, tokens, occlusion_fill, ig_baseline)
    if method == "phone_occlusion":
        settings.alignments = usable_alignments(sessions, alignment_dir, status_dir)
    log.info("%s, %s: %d recordings (%s), batch %d, on %s", method, model_dir, len(sessions), splits, batch_size,
             next(model.parameters()).device)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    effects = []
    wavs = list(recordings["wav"])
    progress = Progress(method, len(wavs))
    with rollout.NpzWriter(out_path) as writer:
        for start in range(0, len(wavs), batch_size):
            batch = wavs[start:start + batch_size]
            fbanks = [features.log_mel(path, extractor)[: extractor.max_length].T.astype(np.float32) for path in batch]
            n_frames = [f.shape[1] for f in fbanks]
            _, maps, rows = method_maps(method, model, features.load_inputs(batch, extractor),
                                        sessions[start:start + batch_size], n_frames, settings)
            effects += rows
            for path, relevance, fbank, frames in zip(batch, maps, fbanks, n_frames):
                writer.add(f"{path.stem}.relevance", relevance[:, :frames])
                writer.add(f"{path.stem}.fbank", fbank)
                writer.add(f"{path.stem}.padding_share", np.float32(rollout.padding_share(np.clip(relevance, 0, None), frames)))
            progress.update(min(start + batch_size, len(wavs)))
    if method == "phone_occlusion":
        table = pd.DataFrame(effects, columns=[c for c in EFFECT_COLUMNS if c not in ("speaker_id", "label")])
        meta = recordings.set_index("session_id")
        table.insert(1, "speaker_id", meta.loc[table["session_id"], "speaker_id"].to_numpy() if len(table) else [])
        table.insert(2, "label", meta.loc[table["session_id"], "label"].to_numpy() if len(table) else [])
        Path(effects_path).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(effects_path, index=False)
