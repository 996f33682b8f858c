"""The Audio Spectrogram Transformer (AST) models: the base checkpoint, its input length, which
parameters train, the device, and the pooled outputs ("speech representations").

Every model folder (the base checkpoint and each trained model) is an `ASTForAudioClassification`
`save_pretrained` folder with its `ASTFeatureExtractor`, loaded with `load_model` as safetensors
only and never from the network."""
import copy
import json
import logging
import math
from pathlib import Path

import soundfile
import torch
import transformers
from torch import nn
from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

from svd_explain.features import num_frames
from svd_explain.logs import Progress

log = logging.getLogger(__name__)

LABELS = {0: "healthy", 1: "pathological"}
SPECIAL_TOKENS = 2  # CLS and distillation, before the patch tokens
POSITION_EMBEDDINGS = "audio_spectrogram_transformer.embeddings.position_embeddings"
RANDOM_PRETRAINED_LENGTH = 1024  # random models are built at the real checkpoint's input length
# max_length auto is sized on these splits only, and the base checkpoint records the input
# length and what it truncates in this file.
SIZING_SPLITS = ("train", "dev")
INPUT_LENGTH_FILE = "input_length.json"


def patch_grid(config):
    """(frequency patches, time patches) of an AST configuration."""
    f_dim = (config.num_mel_bins - config.patch_size) // config.frequency_stride + 1
    t_dim = (config.max_length - config.patch_size) // config.time_stride + 1
    return f_dim, t_dim


def auto_max_length(longest_frames, config):
    """The shortest input length whose patches cover `longest_frames` frames (T = patch size +
    a multiple of the time stride: T ≡ 6 mod 10 for AST), at most the checkpoint's max_length."""
    beyond_first_patch = max(longest_frames - config.patch_size, 0)
    length = config.patch_size + config.time_stride * math.ceil(beyond_first_patch / config.time_stride)
    return min(length, config.max_length)


def quiet_progress_bars():
    """No tqdm bars for loading and saving weights: they garble the rules' log files."""
    transformers.utils.logging.disable_progress_bar()


def random_ast(settings, seed, max_length=RANDOM_PRETRAINED_LENGTH, labels=LABELS, problem_type=None):
    """An AST with random weights (the tiny one of the demo and tests, the start of the
    pretext pretraining, or the full-size architecture for benchmarks) built deterministically
    from `seed` and the architecture `settings`, at `max_length` (by default the real
    checkpoint's input length), with the head's `labels` ({index: name}) and `problem_type`
    (None, or "multi_label_classification" as for AudioSet), and with dropout 0 like the real
    checkpoint."""
    config = ASTConfig(
        **settings,
        max_length=max_length,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        id2label=labels,
        label2id={name: i for i, name in labels.items()},
        problem_type=problem_type,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = ASTForAudioClassification(config)
        # transformers initialises these to zero; a trained AST has distinct position
        # embeddings, which the length adaptation must carry over, so give them values.
        embeddings = model.audio_spectrogram_transformer.embeddings
        with torch.no_grad():
            for parameter in (embeddings.cls_token, embeddings.distillation_token, embeddings.position_embeddings):
                nn.init.trunc_normal_(parameter, std=config.initializer_range)
    return model


def load_model(path):
    """A saved model and its feature extractor, as safetensors, from a local folder or the
    Hugging Face cache (never downloaded)."""
    model, loading = ASTForAudioClassification.from_pretrained(
        path, use_safetensors=True, local_files_only=True, output_loading_info=True
    )
    # transformers only warns about weights it did not find or could not use, and initialises
    # them afresh (position embeddings to zero): refuse such a model.
    not_loaded = sorted(loading["missing_keys"]) + sorted(str(k) for k in loading["mismatched_keys"])
    if not_loaded:
        raise ValueError(f"{path}: weights missing or of the wrong shape: {not_loaded}")
    feature_extractor = ASTFeatureExtractor.from_pretrained(path, local_files_only=True)
    if feature_extractor.max_length != model.config.max_length:
        raise ValueError(
            f"{path}: the feature extractor's max_length {feature_extractor.max_length} differs from the "
            f"model's {model.config.max_length}"
        )
    if feature_extractor.num_mel_bins != model.config.num_mel_bins:
        raise ValueError(f"{path}: the feature extractor and the model disagree on the number of mel bins")
    return model, feature_extractor


def cut_position_embeddings(position_embeddings, f_dim, t_dim, new_t_dim):
    """Position embeddings for a shorter input: the pretrained ones of the middle `new_t_dim`
    time patches, as the original AST code does (Gong et al. 2021, ast_models.py), with the two
    special-token embeddings unchanged. Patch tokens are frequency-major (index = f·t_dim + t)."""
    if new_t_dim > t_dim:
        raise ValueError(f"cannot lengthen the input from {t_dim} to {new_t_dim} time patches")
    special, patches = position_embeddings[:, :SPECIAL_TOKENS], position_embeddings[:, SPECIAL_TOKENS:]
    if patches.shape[1] != f_dim * t_dim:
        raise ValueError(f"{patches.shape[1]} patch position embeddings, expected {f_dim} x {t_dim}")
    start = t_dim // 2 - new_t_dim // 2
    grid = patches.reshape(1, f_dim, t_dim, -1)[:, :, start : start + new_t_dim]
    return torch.cat([special, grid.reshape(1, f_dim * new_t_dim, -1)], dim=1)


def binary_classifier(model, max_length, seed):
    """`model` with input length `max_length` and a healthy/pathological head.

    Every pretrained weight is kept; the position embeddings are cut to the new length (never
    re-initialised), and only the head's output layer (classifier.dense) is re-initialised,
    seeded, as transformers initialises a Linear layer (normal(0, initializer_range), zero bias).
    The head's LayerNorm stays pretrained."""
    config = ASTConfig.from_dict(
        {
            **model.config.to_dict(),
            "max_length": max_length,
            "id2label": LABELS,
            "label2id": {name: i for i, name in LABELS.items()},
            # One label of two (cross-entropy), whatever the source's head was (AudioSet's and
            # the pretext's are multi-label).
            "problem_type": None,
        }
    )
    state = {name: value.detach().clone() for name, value in model.state_dict().items()}
    state[POSITION_EMBEDDINGS] = cut_position_embeddings(
        state[POSITION_EMBEDDINGS], *patch_grid(model.config), patch_grid(config)[1]
    )
    generator = torch.Generator().manual_seed(seed)
    state["classifier.dense.weight"] = (
        torch.randn(len(LABELS), config.hidden_size, generator=generator) * config.initializer_range
    )
    state["classifier.dense.bias"] = torch.zeros(len(LABELS))
    with torch.device("meta"):
        adapted = ASTForAudioClassification(config)
    adapted.load_state_dict(state, strict=True, assign=True)
    return adapted


def recording_splits(wav_paths, split_parquet):
    """{path: split} of the recordings (named <session>.wav), from the split table; every
    recording counts as "train" without one."""
    if split_parquet is None:
        return {path: "train" for path in wav_paths}
    import pandas as pd

    table = pd.read_parquet(split_parquet, columns=["session_id", "split"])
    splits = dict(zip(table["session_id"].astype(str), table["split"]))
    return {path: splits.get(Path(path).stem, "unsplit") for path in wav_paths}


def write_base_checkpoint(source, max_length, tiny, seed, wav_paths, output_dir, split_parquet=None):
    """Write the starting checkpoint of every model to `output_dir` (save_pretrained folder with
    its feature extractor), and INPUT_LENGTH_FILE: the input length, what sized it, and the
    recordings it truncates.

    source: "tiny" (built from the `tiny` settings and `seed`) or a local folder / a name in the
    Hugging Face cache. max_length: an int, or "auto" for the shortest length that holds the
    longest train or dev recording of `wav_paths` (`split_parquet` says which; the test split
    must not shape the model), capped at the checkpoint's own max_length. Longer recordings,
    test ones included, are truncated by the feature extractor."""
    quiet_progress_bars()
    if source == "tiny":
        pretrained = random_ast(tiny, seed)
        feature_extractor = ASTFeatureExtractor(
            num_mel_bins=pretrained.config.num_mel_bins, max_length=pretrained.config.max_length
        )
        log.info("built a tiny AST from seed %d: %s", seed, tiny)
    else:
        pretrained, feature_extractor = load_model(source)
        log.info("loaded %s (%d labels)", source, pretrained.config.num_labels)
    cap = pretrained.config.max_length

    frames = {}
    for path in wav_paths:
        info = soundfile.info(str(path))
        if info.samplerate != feature_extractor.sampling_rate:
            raise ValueError(f"{path}: {info.samplerate} Hz, the checkpoint needs {feature_extractor.sampling_rate} Hz")
        frames[path] = num_frames(info.frames)
    splits = recording_splits(frames, split_parquet)
    sizing = [n for path, n in frames.items() if splits[path] in SIZING_SPLITS]
    if not sizing:
        raise ValueError("no train or dev recordings to size the input length from")
    longest = max(sizing)
    if max_length == "auto":
        length = auto_max_length(longest, pretrained.config)
        log.info("max_length auto: longest train/dev recording %d frames -> %d frames", longest, length)
    elif max_length > cap:
        raise ValueError(f"max_length {max_length} exceeds the checkpoint's {cap} (position embeddings)")
    else:
        length = max_length
    truncated = sorted((Path(path).stem, splits[path], n) for path, n in frames.items() if n > length)
    by_split = {split: sum(1 for _, s, _ in truncated if s == split) for split in sorted(set(splits.values()))}
    if truncated:
        log.warning(
            "%d of %d recordings are longer than %d frames and will be truncated: %s",
            len(truncated), len(frames), length, ", ".join(f"{k} {v}" for k, v in by_split.items() if v),
        )

    model = binary_classifier(pretrained, length, seed)
    feature_extractor = copy.deepcopy(feature_extractor)
    feature_extractor.max_length = length
    output_dir = Path(output_dir)
    model.save_pretrained(output_dir)
    feature_extractor.save_pretrained(output_dir)
    longest_by_split = {}
    for path, n in frames.items():
        longest_by_split[splits[path]] = max(n, longest_by_split.get(splits[path], 0))
    (output_dir / INPUT_LENGTH_FILE).write_text(json.dumps({
        "max_length": length,
        "setting": max_length,
        "sized_on": list(SIZING_SPLITS),
        "longest_frames": dict(sorted(longest_by_split.items())),
        "truncated": by_split,
        "truncated_recordings": [{"session_id": s, "split": split, "frames": n} for s, split, n in truncated],
    }, indent=1) + "\n")
    log.info("wrote %s: max_length %d, %d x %d patches", output_dir, length, *patch_grid(model.config))


def set_trainable(model, train, top_layers):
    """Choose the parameters that train: "head" (classifier only), "all", or "top_layers" (the
    last `top_layers` encoder layers, the final LayerNorm and the head). Returns their count."""
    prefixes = {"classifier"}
    if train == "all":
        prefixes = None
    elif train == "top_layers":
        layers = model.config.num_hidden_layers
        if not 1 <= top_layers <= layers:
            raise ValueError(f"top_layers {top_layers} is outside 1..{layers}")
        prefixes |= {"audio_spectrogram_transformer.layernorm"} | {
            f"audio_spectrogram_transformer.layers.{i}" for i in range(layers - top_layers, layers)
        }
    elif train != "head":
        raise ValueError(f"unknown train setting {train!r} (head, all or top_layers)")
    count = 0
    for name, parameter in model.named_parameters():
        parameter.requires_grad = prefixes is None or any(
            name == prefix or name.startswith(prefix + ".") for prefix in prefixes
        )
        count += parameter.numel() if parameter.requires_grad else 0
    return count


def resolve_device(setting):
    """(device, mixed precision) for a `training.device` setting: "auto" takes CUDA when present,
    with bf16 where the GPU supports it and fp16 otherwise; "cpu" (or no GPU) runs in float32."""
    if setting not in ("auto", "cpu"):
        raise ValueError(f"unknown device setting {setting!r} (auto or cpu)")
    if setting == "auto" and torch.cuda.is_available():
        return torch.device("cuda"), ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
    return torch.device("cpu"), None


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def pooled_outputs(backbone, inputs, batch_size, device, mixed_precision=None):
    """The pooled output (mean of the final CLS and distillation tokens) of `backbone` (an
    ASTModel) for each input, as float32 on the CPU; under autocast when `mixed_precision` is
    "bf16"/"fp16", as the Trainer runs the model."""
    backbone = backbone.to(device).eval()
    pooled = []
    clock = Progress("pooled outputs", len(inputs))
    with torch.inference_mode(), torch.autocast(
        device.type, dtype=AUTOCAST_DTYPES.get(mixed_precision), enabled=mixed_precision is not None
    ):
        for start in range(0, len(inputs), batch_size):
            batch = inputs[start : start + batch_size].to(device)
            # Kept on the device until the end: no wait for the GPU between batches.
            pooled.append(backbone(batch).pooler_output.float())
            clock.update(min(start + batch_size, len(inputs)))
    return torch.cat(pooled).cpu()


# -- using a GPU well (CUDA only: on the CPU the configured batch sizes stand and nothing moves,
# so that CPU results are exactly what they are without these) ---------------------------------

# Recordings per forward pass on a GPU, for prediction, the frozen-backbone cache and the dev
# evaluation: the full-size AST at 1024 frames holds about 20 MB of activations per recording
# in bf16 without gradients, so 64 take about 1.3 GB.
INFERENCE_BATCH = 64
# Recordings per rollout pass on a GPU: the rollout keeps one head-fused N x N float32 matrix per
# layer and recording (12 x 1214^2 x 4 bytes = 70 MB at 1024 frames): 32 take 2.3 GB.
ROLLOUT_BATCH = 32
# A trial training step may take this share of the GPU's memory: the optimizer's state and the
# gradients' buckets come on top of it in the real run.
TRIAL_MEMORY_SHARE = 0.8
# The inputs stay on the GPU for the whole training (no copy per step) when they take at most
# this share of its memory (1,600 recordings at 1024 frames: 0.8 GB).
RESIDENT_INPUT_SHARE = 0.25


def device_batch_size(configured, device, on_gpu):
    """Recordings per pass: `configured` on the CPU, at least `on_gpu` on a GPU."""
    return max(configured, on_gpu) if device.type == "cuda" else configured


def fits_on_gpu(tensors, device):
    """Whether `tensors` can stay on the GPU `device` for a whole training (never on the CPU)."""
    if device.type != "cuda":
        return False
    size = sum(t.numel() * t.element_size() for t in tensors)
    return size <= RESIDENT_INPUT_SHARE * torch.cuda.get_device_properties(device).total_memory


def gpu_micro_batch(model, inputs, labels, per_device, accumulation, device, precision):
    """(micro-batch, accumulation steps) for training `model`: on the CPU the configured ones;
    on a GPU the largest divisor of the effective batch (per_device × accumulation), down to
    per_device, whose forward and backward pass fits (`_trial_step_fits`). The effective batch,
    and with it the optimisation, is the same either way: the Trainer sums the micro-batches'
    losses over the accumulated batch's labels."""
    effective = per_device * accumulation
    if device.type != "cuda":
        return per_device, accumulation
    for size in sorted((d for d in range(per_device, effective + 1) if effective % d == 0), reverse=True):
        if _trial_step_fits(model, inputs, labels, size, device, precision):
            log.info(
                "micro-batch %d x %d accumulated (effective batch %d; configured %d x %d)",
                size, effective // size, effective, per_device, accumulation,
            )
            return size, effective // size
    log.warning("a trial step of the configured %d recordings did not fit on the GPU either", per_device)
    return per_device, accumulation


def _trial_step_fits(model, inputs, labels, size, device, precision):
    """Whether one forward and backward pass of `size` recordings (the first ones, repeated if
    there are fewer) fits in TRIAL_MEMORY_SHARE of the GPU's memory. The gradients are dropped."""
    model.to(device).train()
    rows = torch.arange(size) % len(inputs)
    loss = None
    try:
        torch.cuda.reset_peak_memory_stats(device)
        with torch.autocast("cuda", dtype=AUTOCAST_DTYPES.get(precision), enabled=precision is not None):
            loss = model(inputs[rows].to(device), labels=labels[rows].to(device)).loss
        loss.backward()
        torch.cuda.synchronize(device)
        total = torch.cuda.get_device_properties(device).total_memory
        return torch.cuda.max_memory_allocated(device) <= TRIAL_MEMORY_SHARE * total
    except torch.OutOfMemoryError:
        return False
    finally:
        del loss
        model.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()


def log_peak_memory(device, stage):
    """Log the peak GPU memory of `stage` (on CUDA; nothing on the CPU)."""
    if device.type == "cuda":
        log.info(
            "%s: peak GPU memory %.0f MiB allocated, %.0f MiB reserved",
            stage, torch.cuda.max_memory_allocated(device) / 2**20, torch.cuda.max_memory_reserved(device) / 2**20,
        )
