"""Model-parameter randomisation (Adebayo et al., "Sanity checks for saliency maps", NeurIPS
2018), cascading: re-initialise the classifier head, then more and more encoder layers from the
top down, and compare each explainer's maps on the randomised model with its maps on the
trained one. A map that barely changes when what the model learnt is destroyed does not show
what the model learnt.

The comparison is Spearman's rank correlation over the cells of a map (the cells every patch
covers); a method fails the check when its mean correlation with the fully randomised model
(head and every layer re-initialised) is still above MAX_RANDOMISED_CORRELATION.

Not quantus's ModelParameterRandomisation (quantus is not among the pinned packages): the
explainers are the workflow's own (explain_maps), run exactly as for the study's maps, and
re-initialising the AST's head and then its layers from the top down is a few lines
(randomised)."""
import copy

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from svd_explain import explain_maps, features
from svd_explain.ast_model import load_model, quiet_progress_bars, resolve_device
from svd_explain.logs import Progress
from svd_explain.occlusion import padding_value

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


def write_randomisation(method, model_name, model_dir, split_path, audio_dir, out_path, recordings=8,
                        alignment_dir=None, status_dir=None, head_fusion="mean", tokens="mean", device="auto", seed=0,
                        occlusion_fill: str | None = "noise_floor", ig_baseline: str | None = "blur"):
    """The rank correlation between `method`'s maps on the trained model and on its cascading
    randomisations, for the first `recordings` test recordings, into `out_path` (TSV: method,
    model, layers_randomised (0: the head only), n, correlation (mean), correlation_sd,
    max_correlation (MAX_RANDOMISED_CORRELATION), passed: whether the fully randomised maps
    correlate below it; the same for every row of the method and model)."""
    quiet_progress_bars()
    table = features.split_recordings(split_path, audio_dir)
    table = table[table["split"] == "test"].head(recordings)
    model, extractor = load_model(model_dir)
    model = model.to(resolve_device(device)[0]).eval()
    sessions = [int(s) for s in table["session_id"]]
    settings = explain_maps.Settings(padding_value(extractor), head_fusion, tokens, occlusion_fill, ig_baseline)
    if method == "phone_occlusion":
        settings.alignments = explain_maps.usable_alignments(sessions, alignment_dir, status_dir)
    inputs = features.load_inputs(list(table["wav"]), extractor)
    n_frames = [features.input_frames(w, extractor) for w in table["wav"]]

    def maps_of(m):
        return explain_maps.method_maps(method, m, inputs, sessions, n_frames, settings)[1]

    trained = maps_of(model)
    rows = []
    cascade = levels(model.config.num_hidden_layers)
    progress = Progress(f"randomisation of {method} maps", len(cascade), unit="randomised models")
    for layers in cascade:
        changed = maps_of(randomised(model, layers, seed=seed + layers))
        correlations = [rank_correlation(a[:, :f], b[:, :f]) for a, b, f in zip(trained, changed, n_frames)]
        rows.append({"method": method, "model": model_name, "layers_randomised": layers,
                     "n": int(np.isfinite(correlations).sum()), "correlation": float(np.nanmean(correlations)),
                     "correlation_sd": float(np.nanstd(correlations))})
        progress.update(len(rows))
    passed = rows[-1]["correlation"] < MAX_RANDOMISED_CORRELATION
    out = pd.DataFrame(rows).assign(max_correlation=MAX_RANDOMISED_CORRELATION, passed=passed)
    out.to_csv(out_path, sep="\t", index=False)
    return out


def write_randomisation_summary(table_paths, table_path):
    """The randomisation tables of every (method, model) in one TSV."""
    table = pd.concat([pd.read_csv(p, sep="\t") for p in table_paths], ignore_index=True)
    table.to_csv(table_path, sep="\t", index=False, float_format="%.4g")
    return table
