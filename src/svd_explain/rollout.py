"""Attention rollout (Abnar & Zuidema 2020) for the Audio Spectrogram Transformer, batched.

Definition, per layer l: fuse the heads of the attention matrix (mean, max or min) into A_l,
add the identity and renormalise every row: Â_l = (A_l + I) / rowsum(A_l + I). The rollout is
R = Â_L ··· Â_1; the relevance of the patches is the row of the special tokens (CLS = 0,
distillation = 1, or their mean, as the pooled output is) restricted to the patch columns,
mapped back onto the (mel bins × frames) spectrogram grid.

How it is computed here, and why:
- Memory: `output_attentions` keeps every layer's (batch, heads, N, N) tensor (≈ 850 MB per
  recording for the full-size AST at 1024 frames). Instead, a registered attention function
  computes exact eager attention a block of query rows at a time, fuses the heads of each block
  at once and returns the fused (batch, N, N) matrix; forward hooks on the attention modules
  keep only that. The (batch, heads, N, N) tensor never exists in full.
- Time: only the special-token rows of R are needed, so a row vector is propagated right to
  left through the layers (O(L·N²)) instead of multiplying full matrices (O(L·N³)).
`direct_rollout` is the plain definition on `output_attentions`, the reference for both.

Output of `write_rollout`: one NumPy `.npz` per model (load with `allow_pickle=False`) holding,
for every session `<s>`, `<s>.relevance` (mel bins × frames, float32, cropped to the recording's
real frames; NaN where no patch covers a cell: the top mel bins the patch grid does not reach)
`<s>.fbank` (the unnormalised log-mel filter bank, same shape) and `<s>.padding_share` (a
float32 scalar: the share of the uncropped map's mass that lay on the padding frames, which the
crop removes). Relevance values are the raw rollout values; statistics normalise each map
themselves."""
import functools
import logging
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from transformers import AttentionInterface

from svd_explain import features
from svd_explain.ast_model import (
    ROLLOUT_BATCH,
    SPECIAL_TOKENS,
    device_batch_size,
    load_model,
    log_peak_memory,
    patch_grid,
    quiet_progress_bars,
    resolve_device,
)
from svd_explain.logs import Progress

log = logging.getLogger(__name__)

HEAD_FUSIONS = ("mean", "max", "min")
# The special-token rows the relevance is read from (CLS = 0, distillation = 1).
TOKEN_ROWS = {"mean": (0, 1), "cls": (0,), "distillation": (1,)}
# Query rows per block in the capturing attention: bounds the temporary (batch, heads, rows, N)
# scores to 3.7 MB per recording at N = 1214, 12 heads; larger blocks are no faster on CPU.
QUERY_BLOCK = 64


def fuse_heads(attention, head_fusion):
    """(batch, heads, rows, N) attention probabilities → (batch, rows, N), fused over heads."""
    if head_fusion == "mean":
        return attention.mean(dim=1)
    if head_fusion == "max":
        return attention.amax(dim=1)
    if head_fusion == "min":
        return attention.amin(dim=1)
    raise ValueError(f"head_fusion must be one of {HEAD_FUSIONS}, not {head_fusion!r}")


def _head_fused_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, head_fusion="mean", **kwargs):
    """Eager attention computed one block of query rows at a time; returns the attention output
    and, instead of the per-head probabilities, their head-fused (batch, N, N) matrix."""
    if module.training and dropout > 0:
        raise RuntimeError("attention rollout needs the model in eval mode (attention dropout is on)")
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    batch, heads, rows, head_dim = query.shape
    output = query.new_empty(batch, heads, rows, value.size(-1))
    fused = torch.empty(batch, rows, key.size(-2), dtype=torch.float32, device=query.device)
    key_t = key.transpose(2, 3)
    for start in range(0, rows, QUERY_BLOCK):
        block = slice(start, start + QUERY_BLOCK)
        scores = torch.matmul(query[:, :, block] * scaling, key_t)
        if attention_mask is not None:
            scores = scores + (attention_mask[:, :, block] if attention_mask.size(-2) > 1 else attention_mask)
        probabilities = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
        output[:, :, block] = torch.matmul(probabilities, value)
        fused[:, block] = fuse_heads(probabilities.float(), head_fusion)
    return output.transpose(1, 2).contiguous(), fused


def _implementation_name(head_fusion):
    return f"svd_explain_rollout_{head_fusion}"


for _fusion in HEAD_FUSIONS:
    AttentionInterface.register(
        _implementation_name(_fusion), functools.partial(_head_fused_attention, head_fusion=_fusion)
    )


def attention_modules(model):
    """The model's attention modules in layer order, found by the class transformers records
    attentions from (so no module path is hard-coded)."""
    recorded = getattr(model, "_can_record_outputs", None) or {}
    target = recorded.get("attentions")
    target = getattr(target, "target_class", target)
    if not isinstance(target, type):
        raise TypeError(f"{type(model).__name__} does not declare which module computes its attentions")
    modules = [m for m in model.modules() if isinstance(m, target)]
    if not modules:
        raise ValueError(f"{type(model).__name__} has no {target.__name__} modules")
    return modules


@contextmanager
def captured_fused_attention(model, head_fusion):
    """While active, each forward of `model` fills the yielded list with one head-fused
    (batch, N, N) float32 attention matrix per layer, in layer order."""
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"head_fusion must be one of {HEAD_FUSIONS}, not {head_fusion!r}")
    modules = attention_modules(model)
    captured = [None] * len(modules)

    def keeper(index):
        def hook(module, args, output):
            captured[index] = output[1]

        return hook

    previous = model.config._attn_implementation
    model.set_attn_implementation(_implementation_name(head_fusion))
    handles = [m.register_forward_hook(keeper(i)) for i, m in enumerate(modules)]
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()
        model.set_attn_implementation(previous)


def _token_start(batch, n_tokens, tokens, device):
    if tokens not in TOKEN_ROWS:
        raise ValueError(f"tokens must be one of {sorted(TOKEN_ROWS)}, not {tokens!r}")
    rows = TOKEN_ROWS[tokens]
    start = torch.zeros(batch, n_tokens, dtype=torch.float64, device=device)
    start[:, list(rows)] = 1.0 / len(rows)
    return start


def rollout_from_fused(fused_layers, tokens="mean"):
    """Patch relevance (batch, N − 2) from the head-fused attention of every layer (in layer
    order), by propagating the special-token row vector right to left.

    With Â = (A + I) / s, s = rowsum(A) + 1: v·Â = (v / s)·A + (v / s), so Â is never built."""
    first = fused_layers[0]
    relevance = _token_start(first.shape[0], first.shape[-1], tokens, first.device)
    for attention in reversed(fused_layers):
        attention = attention.double()
        weighted = relevance / (attention.sum(dim=-1) + 1.0)
        relevance = torch.bmm(weighted.unsqueeze(1), attention).squeeze(1) + weighted
    return relevance[:, SPECIAL_TOKENS:]


def direct_rollout(attentions, head_fusion="mean", tokens="mean"):
    """The plain definition, as the reference: full products of the per-layer matrices from
    `output_attentions` ((batch, heads, N, N) per layer, in layer order). Patch relevance
    (batch, N − 2)."""
    rollout = None
    for attention in attentions:
        fused = fuse_heads(attention.double(), head_fusion)
        fused = fused + torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
        fused = fused / fused.sum(dim=-1, keepdim=True)
        rollout = fused if rollout is None else fused @ rollout
    start = _token_start(rollout.shape[0], rollout.shape[-1], tokens, rollout.device)
    relevance = torch.bmm(start.unsqueeze(1), rollout).squeeze(1)
    return relevance[:, SPECIAL_TOKENS:]


def patches_to_spectrogram(patch_relevance, config):
    """Patch relevance (batch, patches) → (batch, mel bins, max_length) on the input grid, each
    cell the mean over the patches that cover it; NaN where none does."""
    f_dim, t_dim = patch_grid(config)
    batch, n_patches = patch_relevance.shape
    if n_patches != f_dim * t_dim:
        raise ValueError(f"{n_patches} patches, but the config's patch grid is {f_dim}×{t_dim}")
    size = config.patch_size
    fold = functools.partial(
        torch.nn.functional.fold,
        output_size=(config.num_mel_bins, config.max_length),
        kernel_size=(size, size),
        stride=(config.frequency_stride, config.time_stride),
    )
    # fold enumerates blocks row-major over (frequency, time): the AST's token order.
    spread = patch_relevance.unsqueeze(1).expand(batch, size * size, n_patches)
    total = fold(spread)[:, 0]
    count = fold(torch.ones_like(spread[:1]))[0, 0]
    return torch.where(count > 0, total / count.clamp(min=1), torch.nan)


@torch.inference_mode()
def relevance_maps(model, input_values, head_fusion="mean", tokens="mean"):
    """One forward pass of a batch (batch, max_length, mel bins) with rollout.

    Returns (P(pathological) per recording as a float64 array, relevance maps as a float32
    array (batch, mel bins, max_length), uncropped)."""
    device = next(model.parameters()).device
    with captured_fused_attention(model, head_fusion) as fused:
        logits = model(input_values.to(device)).logits
    maps = patches_to_spectrogram(rollout_from_fused(fused, tokens), model.config)
    scores = torch.softmax(logits.double(), dim=-1)[:, 1]  # label 1 = pathological
    return scores.cpu().numpy(), maps.float().cpu().numpy()


def padding_share(relevance, n_frames):
    """The share of an uncropped map's mass (mel bins × max_length, NaN cells left out) on the
    frames after the recording's first `n_frames`: the model's padding."""
    total = np.nansum(relevance, dtype=np.float64)
    return float(np.nansum(relevance[:, n_frames:], dtype=np.float64) / total) if total > 0 else float("nan")


def explain_recordings(model, extractor, wav_paths, head_fusion="mean", tokens="mean", batch_size=8):
    """Yield (path, P(pathological), relevance, fbank, padding share) per recording, batched;
    relevance and fbank are (mel bins × frames) float32, cropped to the recording's frames (at
    most max_length); the padding share is the mass the crop removed (`padding_share`)."""
    wav_paths = list(wav_paths)
    progress = Progress("rollout", len(wav_paths))
    for start in range(0, len(wav_paths), batch_size):
        batch = wav_paths[start : start + batch_size]
        scores, maps = relevance_maps(model, features.load_inputs(batch, extractor), head_fusion, tokens)
        for path, score, relevance in zip(batch, scores, maps):
            fbank = features.log_mel(path, extractor)[: extractor.max_length].T.astype(np.float32)
            n_frames = fbank.shape[1]
            yield path, float(score), relevance[:, :n_frames], fbank, padding_share(relevance, n_frames)
        progress.update(min(start + batch_size, len(wav_paths)))


class NpzWriter:
    """Writes arrays one at a time into an uncompressed .npz, so that a whole model's maps are
    never held in memory together (np.load reads the result)."""

    def __init__(self, path):
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True)

    def add(self, name, array):
        with self._zip.open(f"{name}.npy", "w", force_zip64=True) as member:
            array = np.asarray(array)  # (ascontiguousarray would make a scalar 1-D)
            np.lib.format.write_array(member, array if array.ndim == 0 else np.ascontiguousarray(array), allow_pickle=False)

    def close(self):
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_rollout(model_dir, split_path, audio_dir, out_path, splits="test", head_fusion="mean",
                  tokens="mean", batch_size=8, device="auto", threads=None):
    """Relevance maps of the model in `model_dir` for every recording of `splits` ("test" or
    "all") of the split table, from `audio_dir`/<session>.wav, into `out_path` (.npz, see the
    module docstring)."""
    if splits not in ("test", "all"):
        raise ValueError(f"splits must be test or all, not {splits!r}")
    if threads:
        torch.set_num_threads(threads)
    quiet_progress_bars()
    recordings = features.split_recordings(split_path, audio_dir)
    if splits == "test":
        recordings = recordings[recordings["split"] == "test"]
    if recordings.empty:
        raise ValueError(f"{split_path}: no recordings in split(s) {splits!r}")
    model, extractor = load_model(model_dir)
    device = resolve_device(device)[0]
    model = model.to(device).eval()
    batch_size = device_batch_size(batch_size, device, ROLLOUT_BATCH)
    log.info(
        "%s: %d recordings (%s), head fusion %s, tokens %s, batch %d, on %s",
        model_dir, len(recordings), splits, head_fusion, tokens, batch_size, next(model.parameters()).device,
    )
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    maps = explain_recordings(model, extractor, recordings["wav"], head_fusion, tokens, batch_size)
    with NpzWriter(out_path) as writer:
        for path, _, relevance, fbank, padding in maps:
            writer.add(f"{path.stem}.relevance", relevance)
            writer.add(f"{path.stem}.fbank", fbank)
            writer.add(f"{path.stem}.padding_share", np.float32(padding))
    log_peak_memory(device, "rollout")
