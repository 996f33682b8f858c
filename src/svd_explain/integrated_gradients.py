"""Integrated Gradients (Sundararajan et al. 2017) through captum: the gradient baseline people
expect next to the attention methods. The path runs from the padding value (the model's
"nothing here", occlusion.py) to the recording, in N_STEPS steps; the attribution explains the
log-odds of "pathological", so positive cells pushed the model towards it."""
import torch
from captum.attr import IntegratedGradients

from svd_explain.occlusion import log_odds

N_STEPS = 32


def relevance_maps(model, input_values, baseline: float, n_steps: int = N_STEPS, internal_batch_size: int = 16):
    """(log-odds per recording, attributions (recordings × mel bins × max_length)) of a batch
    (recordings × max_length × mel bins)."""
    device = next(model.parameters()).device
    inputs = input_values.to(device)
    forward = log_odds(model)
    with torch.enable_grad():
        attributions = IntegratedGradients(forward).attribute(
            inputs, baselines=baseline, n_steps=n_steps, internal_batch_size=internal_batch_size
        )
    with torch.no_grad():
        odds = forward(inputs)
    return odds.cpu().numpy(), attributions.detach().transpose(1, 2).float().cpu().numpy()
