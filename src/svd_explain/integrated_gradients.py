"""Integrated Gradients (Sundararajan et al. 2017) through captum: the gradient baseline people
expect next to the attention methods. The path runs from a baseline input to the recording, in
N_STEPS steps; the attribution explains the log-odds of "pathological", so positive cells pushed
the model towards it.

The baseline (`explain.ig_baseline`, BASELINES):
  blur     the recording itself, blurred over time (a Gaussian of BLUR_SIGMA_FRAMES frames, within
           the recording's own frames; its padding stays as it is), the blurred baseline of
           Sturmfels et al. (2020), on a straight path (Blur IG, Xu et al. 2020, walks the scale
           of the blur instead; from 4 or 16 frames down it localised the planted cue less well
           on the demo world, per-frame AUC 0.77 and 0.75). What the path adds is the
           frame-to-frame texture, where a voice-quality cue (jitter, shimmer, breath noise,
           voice breaks) lives, while the phones, their spectra and levels are already in the
           baseline. The default: on the 500-session demo worlds it puts the relevance on the
           planted cue (per-frame AUC 0.79 on the default world, 0.83 with the cue on the study's
           phones) where the padding baseline points away from it (0.48 and 0.48).
  padding  the padding value (occlusion.padding_value): the model's "nothing here", a flat
           spectrum; its path mostly adds loudness, so its maps follow the loud frames."""
import torch
from captum.attr import IntegratedGradients
from scipy.ndimage import gaussian_filter1d

from svd_explain.occlusion import log_odds

N_STEPS = 32
BASELINES = ("blur", "padding")
# One frame (10 ms): wider blurs localised the planted cue less well on the demo world
# (per-frame AUC 0.79 at 1 frame, 0.786 at 2, 0.773 at 4, 0.756 at 8).
BLUR_SIGMA_FRAMES = 1.0


def check_baseline(baseline: str) -> None:
    """ValueError unless `baseline` is one of BASELINES."""
    if baseline not in BASELINES:
        raise ValueError(f"ig_baseline must be one of {', '.join(BASELINES)}, not {baseline!r}")


def blurred(input_values: torch.Tensor, n_frames, sigma: float = BLUR_SIGMA_FRAMES) -> torch.Tensor:
    """The inputs (recordings × max_length × mel bins) with each recording's first `n_frames`
    frames blurred over time by a Gaussian of `sigma` frames (edges continued with their own
    values, so no padding enters a recording's frames); the frames after them unchanged."""
    out = input_values.detach().cpu().numpy().copy()
    for row, frames in enumerate(n_frames):
        out[row, :frames] = gaussian_filter1d(out[row, :frames], sigma, axis=0, mode="nearest")
    return torch.as_tensor(out, dtype=input_values.dtype, device=input_values.device)


def baseline_values(baseline: str, input_values: torch.Tensor, n_frames, padding: float) -> float | torch.Tensor:
    """What the path starts from: the blurred recordings (a tensor like `input_values`) or the
    padding value."""
    check_baseline(baseline)
    return blurred(input_values, n_frames) if baseline == "blur" else padding


def relevance_maps(model, input_values, baseline: float | torch.Tensor, n_steps: int = N_STEPS,
                   internal_batch_size: int = 16):
    """(log-odds per recording, attributions (recordings × mel bins × max_length)) of a batch
    (recordings × max_length × mel bins), from `baseline` (a value, or a tensor like the inputs)."""
    device = next(model.parameters()).device
    inputs = input_values.to(device)
    if isinstance(baseline, torch.Tensor):
        baseline = baseline.to(device=device, dtype=inputs.dtype)
    forward = log_odds(model)
    with torch.enable_grad():
        attributions = IntegratedGradients(forward).attribute(
            inputs, baselines=baseline, n_steps=n_steps, internal_batch_size=internal_batch_size
        )
    with torch.no_grad():
        odds = forward(inputs)
    return odds.cpu().numpy(), attributions.detach().transpose(1, 2).float().cpu().numpy()
