"""Deletion faithfulness (Petsiuk et al., RISE, 2018): remove the recording's frames most
relevant first and follow the model's probability of the class it predicted; compare with the
same deletion in a random order. If the map shows what the model uses, its order makes the
probability fall sooner: the area under its curve is smaller than the random order's (ratio
< 1).

Frames are deleted in STEPS equal steps of the recording's frames (not its padding), by
setting them to the padding value (the model's "nothing here", occlusion.py); a frame's
relevance is the map's positive part summed over the mel bins (localisation.frame_relevance).
The random baseline is the mean over RANDOM_ORDERS orders drawn from a seeded generator."""
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from svd_explain import features
from svd_explain.ast_model import load_model, quiet_progress_bars, resolve_device
from svd_explain.checks.localisation import frame_relevance
from svd_explain.occlusion import padding_value

STEPS = 10
RANDOM_ORDERS = 5


def deletion_inputs(input_values: torch.Tensor, order: np.ndarray, baseline: float, steps: int = STEPS) -> torch.Tensor:
    """(steps + 1, max_length, mel bins): the recording with the first 0, 1/steps, ..., all of
    the frames in `order` replaced by `baseline`."""
    counts = np.round(np.linspace(0, len(order), steps + 1)).astype(int)
    stack = input_values[None].repeat(steps + 1, 1, 1)
    for k, count in enumerate(counts):
        stack[k, torch.as_tensor(order[:count], dtype=torch.long)] = baseline
    return stack


def area(curve: np.ndarray) -> float:
    """The area under a curve sampled at equal steps from 0 to 1."""
    curve = np.asarray(curve, dtype=np.float64)
    return float(((curve[1:] + curve[:-1]) / 2).mean())


@torch.no_grad()
def deletion(model, input_values, relevances, n_frames, baseline, seed=0, steps=STEPS, random_orders=RANDOM_ORDERS):
    """Per recording of a batch: its predicted class, the probability curve of that class as
    frames are deleted by relevance and (mean) in random order, their areas and the ratio.
    `relevances`: the recordings' maps (mel bins × frames, cropped); `n_frames`: their frames."""
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)  # an int or a sequence of ints
    results = []
    for inputs, relevance, frames in zip(input_values, relevances, n_frames, strict=True):
        per_frame = frame_relevance(relevance)[:frames]
        # Most relevant first; ties (e.g. occlusion's equal effects within a phone) keep time order.
        orders = [np.argsort(-per_frame, kind="stable")] + [rng.permutation(frames) for _ in range(random_orders)]
        stack = torch.cat([deletion_inputs(inputs, order, baseline, steps) for order in orders])
        probabilities = torch.softmax(model(stack.to(device)).logits.double(), dim=-1).cpu().numpy()
        predicted = int(probabilities[0].argmax())
        curves = probabilities[:, predicted].reshape(len(orders), steps + 1)
        by_relevance, by_chance = curves[0], curves[1:].mean(axis=0)
        relevance_area, random_area = area(by_relevance), area(by_chance)
        results.append({
            "predicted": predicted, "curve": by_relevance, "random_curve": by_chance,
            "auc": relevance_area, "random_auc": random_area,
            "ratio": relevance_area / random_area if random_area > 0 else float("nan"),
        })
    return results


def write_deletion(method, model_name, model_dir, map_path, split_path, audio_dir, out_path, splits="test",
                   batch_size=8, device="auto", seed=0):
    """The deletion curves of one model's `method` maps (map file `map_path`) for the recordings
    of `splits`, into `out_path` (Parquet: method, model, session_id, label, predicted, auc,
    random_auc, ratio, curve, random_curve). Recordings whose map has no finite cell are left
    out."""
    quiet_progress_bars()
    recordings = features.split_recordings(split_path, audio_dir)
    if splits == "test":
        recordings = recordings[recordings["split"] == "test"]
    model, extractor = load_model(model_dir)
    model = model.to(resolve_device(device)[0]).eval()
    rows = []
    with np.load(map_path, allow_pickle=False) as maps:
        usable = [r for r in recordings.itertuples() if np.isfinite(maps[f"{r.session_id}.relevance"]).any()]
        for start in range(0, len(usable), batch_size):
            batch = usable[start:start + batch_size]
            relevances = [maps[f"{r.session_id}.relevance"] for r in batch]
            inputs = features.load_inputs([r.wav for r in batch], extractor)
            results = deletion(model, inputs, relevances, [m.shape[1] for m in relevances], padding_value(extractor),
                               seed=[seed, start])
            rows += [{"method": method, "model": model_name, "session_id": r.session_id, "label": r.label, **result}
                     for r, result in zip(batch, results)]
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    for column in ("curve", "random_curve"):
        table[column] = [list(map(float, c)) for c in table[column]]
    table.to_parquet(out_path, index=False)
