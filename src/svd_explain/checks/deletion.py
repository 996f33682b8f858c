"""Deletion faithfulness (Petsiuk et al., RISE, 2018): remove the recording's frames most
relevant first and follow the model's probability of the class it predicted; compare with the
same deletion in a random order. If the map shows what the model uses, its order makes the
probability fall sooner: the area under its curve is smaller than the random order's (ratio
< 1).

Frames are deleted in STEPS equal steps of the recording's frames (not its padding), by
setting them to the padding value (the model's "nothing here", occlusion.py); a frame's
relevance is the map's positive part summed over the mel bins (localisation.frame_relevance).
The random baseline is the mean over RANDOM_ORDERS orders drawn from a seeded generator."""
import numpy as np
import torch

from svd_explain.checks.localisation import frame_relevance

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
    rng = np.random.default_rng(seed)
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
