"""Model-parameter randomisation (Adebayo et al., "Sanity checks for saliency maps", NeurIPS
2018), cascading: re-initialise the classifier head, then more and more encoder layers from the
top down, and compare each explainer's maps on the randomised model with its maps on the
trained one. A map that barely changes when what the model learnt is destroyed does not show
what the model learnt.

The comparison is Spearman's rank correlation over the cells of a map (the cells every patch
covers); a method fails the check when its mean correlation with the fully randomised model
(head and every layer re-initialised) is still above MAX_RANDOMISED_CORRELATION."""
import copy

import numpy as np
import torch
from scipy.stats import spearmanr

MAX_RANDOMISED_CORRELATION = 0.5


def levels(n_layers: int) -> list[int]:
    """How many encoder layers are re-initialised at each level (the head always is): 0, 1,
    2, 4, ... up to all of them."""
    out, k = [0], 1
    while k < n_layers:
        out.append(k)
        k *= 2
    return out + [n_layers]


def randomised(model, layers_from_top: int, seed: int):
    """A copy of `model` with its classifier head and its top `layers_from_top` encoder layers
    re-initialised as the architecture initialises them (seeded)."""
    copy_ = copy.deepcopy(model)
    torch.manual_seed(seed)
    copy_.classifier.apply(copy_._init_weights)
    layers = copy_.audio_spectrogram_transformer.layers
    for layer in list(layers)[len(layers) - layers_from_top:]:
        layer.apply(copy_._init_weights)
    return copy_.eval()


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps over the cells finite in both."""
    finite = np.isfinite(a) & np.isfinite(b)
    if finite.sum() < 3 or np.ptp(a[finite]) == 0 or np.ptp(b[finite]) == 0:
        return float("nan")
    return float(spearmanr(a[finite], b[finite]).statistic)
