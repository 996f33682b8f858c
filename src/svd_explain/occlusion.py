"""Phone occlusion: what each aligned phone does to the model's decision. For every phone of a
recording, its frames in the model's input are replaced and the change in the log-odds of
"pathological" (logit 1 − logit 0) is recorded: effect = log-odds(recording) −
log-odds(recording without the phone). A positive effect: the phone pushed the model towards
"pathological". The map spreads each phone's effect over its frames (every mel bin); frames
outside the phones (silence, pauses, padding) get 0.

Replacement (`explain.occlusion_fill`): by default the recording's own noise floor, per mel bin
the NOISE_FLOOR_QUANTILE quantile of its frames in the model's input (its leading and trailing
silence and its pauses), so that a removed phone becomes the silence the model hears around
every phrase, at that recording's level and noise; `padding` takes the padding value instead,
the input of a frame that holds no recording (the extractor pads with zeros before it
normalises, so (0 − mean) / (2 · std) ≈ 0.47, a flat spectrum far above a recording's silence),
which the model has only ever seen after the recording ends. On the 500-session demo worlds
(`benchmarks/occlusion_fill.py`, true phones, `ast_finetuned`), the noise floor gives the
per-frame AUC against the planted cue 0.60 where the padding value gives 0.48 (cue on
/uː ɛ ə m ʁ v/), and 0.46 where it gives 0.30 (cue on /ɔ eː iː n/), and moves the model less
where there is no cue; with either fill, removing a cue phone mostly *raises* "pathological"
(a silence inside the phrase is itself unusual), so the sign of an effect says what the
replacement does as much as what the phone did.

Computed with captum's FeatureAblation, one feature group per phone occurrence
(`phone_feature_mask`), batched over recordings and phones. Perturbation aligned to phones is
the one attribution for speech that Shen et al. (Interspeech 2025) found reliable."""
import numpy as np
import torch
from captum.attr import FeatureAblation

from svd_explain.frames import frame_centres

PATHOLOGICAL = 1
FILLS = ("noise_floor", "padding")
# The share of a recording's frames quieter than its noise floor, in every mel bin.
NOISE_FLOOR_QUANTILE = 0.05


def padding_value(extractor) -> float:
    """The normalised model input of a padded (empty) frame."""
    return float((0.0 - extractor.mean) / (2 * extractor.std))


def noise_floor(input_values: torch.Tensor, n_frames) -> torch.Tensor:
    """Each recording's noise floor in the model's input (recordings × 1 × mel bins): per mel
    bin, the NOISE_FLOOR_QUANTILE quantile of its first `n_frames` frames (its own, not the
    padding after them)."""
    return torch.stack([
        torch.quantile(inputs[:frames].float(), NOISE_FLOOR_QUANTILE, dim=0)[None]
        for inputs, frames in zip(input_values, n_frames, strict=True)
    ]).to(input_values.dtype)


def check_fill(fill: str) -> None:
    """Refuse a fill that is not one of FILLS."""
    if fill not in FILLS:
        raise ValueError(f"occlusion_fill must be one of {', '.join(FILLS)}, not {fill!r}")


def fill_values(fill: str, input_values: torch.Tensor, n_frames, padding: float) -> float | torch.Tensor:
    """What replaces a removed phone for `fill` (one of FILLS): each recording's noise floor,
    or `padding` (padding_value)."""
    check_fill(fill)
    return noise_floor(input_values, n_frames) if fill == "noise_floor" else padding


def phone_feature_mask(phones, max_length: int, n_frames: int) -> np.ndarray:
    """The frames of each phone occurrence as feature groups (max_length,): k + 1 for the k-th
    phone of `phones` (Segments, seconds), 0 for every other frame. A frame belongs to the
    phone its window centre lies in; frames beyond the recording's `n_frames` are never a
    phone's."""
    centres = frame_centres(max_length)
    mask = np.zeros(max_length, dtype=np.int64)
    for k, phone in enumerate(phones):
        mask[(centres >= phone.start) & (centres < phone.end)] = k + 1
    mask[n_frames:] = 0
    return mask


def log_odds(model):
    """The forward function captum perturbs: log-odds of "pathological" per recording."""

    def forward(input_values):
        logits = model(input_values).logits.double()
        return logits[:, PATHOLOGICAL] - logits[:, 1 - PATHOLOGICAL]

    return forward


@torch.no_grad()
def phone_effects(model, input_values, masks, baseline: float | torch.Tensor, perturbations_per_eval: int = 8):
    """The effect on the log-odds of removing each phone group of `masks` (recordings ×
    max_length, from phone_feature_mask) from `input_values` (recordings × max_length × mel
    bins), its frames replaced by `baseline` (a value, or one per recording and mel bin,
    recordings × 1 × mel bins, as noise_floor gives): (log-odds per recording, effects
    (recordings × groups, group k + 1 in column k; NaN where a recording has no such group),
    maps (recordings × mel bins × max_length))."""
    device = next(model.parameters()).device
    inputs = input_values.to(device)
    masks = torch.as_tensor(np.asarray(masks), device=device)
    feature_mask = masks[:, :, None].expand_as(inputs)
    if isinstance(baseline, torch.Tensor):
        baseline = baseline.to(device=device, dtype=inputs.dtype).expand_as(inputs).contiguous()
    forward = log_odds(model)
    # Group 0 (no phone) is ablated too (captum ablates every group); its column is dropped.
    attributions = FeatureAblation(forward).attribute(
        inputs, baselines=baseline, feature_mask=feature_mask, perturbations_per_eval=perturbations_per_eval
    )
    attributions = torch.where(feature_mask > 0, attributions, torch.zeros_like(attributions))
    groups = int(masks.max())
    effects = np.full((len(inputs), groups), np.nan)
    for k in range(1, groups + 1):
        for row in range(len(inputs)):
            frames = masks[row] == k
            if frames.any():
                effects[row, k - 1] = float(attributions[row, frames][:, 0].mean())
    return forward(inputs).cpu().numpy(), effects, attributions.transpose(1, 2).float().cpu().numpy()
