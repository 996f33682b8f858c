"""Deletion faithfulness (Petsiuk et al., RISE, 2018): remove the recording's frames most
relevant first and follow the model's probability of the class the map explains; compare with
the same deletion in a random order. If the map shows what the model uses, its order makes the
probability fall sooner: the area under its curve is smaller than the random order's (ratio
< 1).

The class a map explains (EXPLAINED_CLASS): "pathological" for the explainers that are asked
about it (attention_pathological; phone occlusion and Integrated Gradients, which attribute the
log-odds of "pathological"), the class the model predicts for attention_predicted and for
rollout (class-agnostic: it explains the decision, whichever it is). Following the predicted
class for a map of evidence *for* "pathological" would, on a recording predicted healthy,
delete the evidence against the decision first and make a faithful map look unfaithful.

Frames are deleted in STEPS equal steps of the recording's frames (not its padding), by
setting them to the padding value (the model's "nothing here", occlusion.py); a frame's
relevance is the map's positive part summed over the mel bins (localisation.frame_relevance).
The random baseline is the mean over RANDOM_ORDERS orders drawn from a seeded generator.

Not quantus's RegionPerturbation or Selectivity (quantus is not among the pinned packages):
the question here is whole frames of time set to the model's own padding value, in the order
of a map reduced to frames, against seeded random orders, summarised with speaker-bootstrap
intervals; the few lines below do exactly that and are tested on a model whose evidence is
known (tests/test_checks.py)."""
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from svd_explain import features
from svd_explain.ast_model import load_model, quiet_progress_bars, resolve_device
from svd_explain.checks.localisation import frame_relevance
from svd_explain.logs import Progress
from svd_explain.occlusion import padding_value
from svd_explain.relevance import speaker_bootstrap_interval

STEPS = 10
RANDOM_ORDERS = 5
PATHOLOGICAL = 1
# Per explainer of explain_maps.METHODS (a test checks they agree): the class its maps explain.
EXPLAINED_CLASS = {
    "rollout": "predicted",
    "attention_pathological": "pathological",
    "attention_predicted": "predicted",
    "phone_occlusion": "pathological",
    "integrated_gradients": "pathological",
}


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
def deletion(model, input_values, relevances, n_frames, baseline, seed=0, steps=STEPS, random_orders=RANDOM_ORDERS,
             explained="predicted"):
    """Per recording of a batch: its predicted class, the explained class ("predicted" or
    "pathological", `explained`), the probability curve of the explained class as frames are
    deleted by relevance and (mean) in random order, their areas and the ratio. `relevances`:
    the recordings' maps (mel bins × frames, cropped); `n_frames`: their frames."""
    if explained not in ("predicted", "pathological"):
        raise ValueError(f"explained must be 'predicted' or 'pathological', not {explained!r}")
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
        target = predicted if explained == "predicted" else PATHOLOGICAL
        curves = probabilities[:, target].reshape(len(orders), steps + 1)
        by_relevance, by_chance = curves[0], curves[1:].mean(axis=0)
        relevance_area, random_area = area(by_relevance), area(by_chance)
        results.append({
            "predicted": predicted, "explained_class": target, "curve": by_relevance, "random_curve": by_chance,
            "auc": relevance_area, "random_auc": random_area,
            "ratio": relevance_area / random_area if random_area > 0 else float("nan"),
        })
    return results


def write_deletion(method, model_name, model_dir, map_path, split_path, audio_dir, out_path, splits="test",
                   batch_size=8, device="auto", seed=0):
    """The deletion curves of one model's `method` maps (map file `map_path`) for the recordings
    of `splits`, into `out_path` (Parquet: method, model, session_id, label, predicted,
    explained_class, auc, random_auc, ratio, curve, random_curve, with speaker_id), following the
    class EXPLAINED_CLASS names for `method`. Recordings whose map has no
    finite cell are left out."""
    quiet_progress_bars()
    recordings = features.split_recordings(split_path, audio_dir)
    if splits == "test":
        recordings = recordings[recordings["split"] == "test"]
    model, extractor = load_model(model_dir)
    model = model.to(resolve_device(device)[0]).eval()
    rows = []
    with np.load(map_path, allow_pickle=False) as maps:
        usable = [r for r in recordings.itertuples() if np.isfinite(maps[f"{r.session_id}.relevance"]).any()]
        progress = Progress(f"deletion of {method} maps", len(usable))
        for start in range(0, len(usable), batch_size):
            batch = usable[start:start + batch_size]
            relevances = [maps[f"{r.session_id}.relevance"] for r in batch]
            inputs = features.load_inputs([r.wav for r in batch], extractor)
            results = deletion(model, inputs, relevances, [m.shape[1] for m in relevances], padding_value(extractor),
                               seed=[seed, start], explained=EXPLAINED_CLASS[method])
            rows += [{"method": method, "model": model_name, "session_id": r.session_id, "speaker_id": r.speaker_id,
                      "label": r.label, **result} for r, result in zip(batch, results)]
            progress.update(len(rows))
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    for column in ("curve", "random_curve"):
        table[column] = [list(map(float, c)) for c in table[column]]
    table.to_parquet(out_path, index=False)


SUMMARY_COLUMNS = ["method", "model", "n", "auc", "random_auc", "ratio", "ratio_low", "ratio_high", "share_below_1"]


def write_deletion_summary(curve_paths, curves_path, table_path, resamples=1000, confidence=0.95, seed=0):
    """All (method, model) deletion curves in one Parquet file (`curves_path`) and their summary
    (`table_path`, TSV, SUMMARY_COLUMNS: the mean ratio with its speaker-bootstrap interval and
    the share of recordings whose ratio is below 1)."""
    curves = pd.concat([pd.read_parquet(p) for p in curve_paths], ignore_index=True)
    curves.to_parquet(curves_path, index=False)
    rows = []
    for index, ((method, model), group) in enumerate(curves.groupby(["method", "model"], sort=False)):
        group = group.dropna(subset=["ratio"])
        low, high = speaker_bootstrap_interval(group["ratio"], group["speaker_id"], resamples, confidence, [seed, index])
        rows.append({"method": method, "model": model, "n": len(group), "auc": group["auc"].mean(),
                     "random_auc": group["random_auc"].mean(), "ratio": group["ratio"].mean(), "ratio_low": low,
                     "ratio_high": high, "share_below_1": float((group["ratio"] < 1).mean())})
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    table.to_csv(table_path, sep="\t", index=False, float_format="%.4g")
    return table
