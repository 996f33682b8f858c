"""Forward throughput of the full-size AST architecture (ASTConfig defaults = the real
checkpoint's, random weights) at input length `auto` against the study's 1024 frames (the
baseline, measured in the same run), on 2-4 s phrases.

Both models come from the same random 1024-frame model: `auto` is the base-checkpoint recipe
(position embeddings cut to the shortest length that holds the longest phrase). The timed part
is the backbone forward as training and prediction run it (`pooled_outputs`: batches, and
bf16/fp16 autocast on a GPU); features are computed beforehand.

`python benchmarks/ast_length.py [--device cpu|cuda] [--recordings N] [--batch-size B]`"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch
from transformers import ASTConfig, ASTFeatureExtractor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from svd_explain.ast_model import auto_max_length, binary_classifier, pooled_outputs, random_ast, resolve_device  # noqa: E402
from svd_explain.features import load_inputs, num_frames  # noqa: E402

ARCHITECTURE = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "num_mel_bins")


def write_phrases(folder, n, seed):
    """n synthetic 2-4 s voiced "phrases" at 16 kHz; returns their paths."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        t = np.arange(int(rng.uniform(2, 4) * 16000)) / 16000
        phase = 2 * np.pi * np.cumsum(rng.uniform(100, 220) * (1 + 0.1 * np.sin(np.pi * t))) / 16000
        voice = 0.1 * sum(np.sin(k * phase) / k for k in range(1, 8)) + 0.01 * rng.standard_normal(t.size)
        paths.append(Path(folder, f"{i}.wav"))
        soundfile.write(paths[-1], voice.astype(np.float32), 16000, subtype="PCM_16")
    return paths


def throughput(model, inputs, batch_size, device, precision):
    """(recordings per second of wall time, CPU seconds per recording) of the backbone forward,
    after one warm-up batch."""
    pooled_outputs(model.audio_spectrogram_transformer, inputs[:batch_size], batch_size, device, precision)
    wall, cpu = time.perf_counter(), time.process_time()
    pooled_outputs(model.audio_spectrogram_transformer, inputs, batch_size, device, precision)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(inputs) / wall, cpu / len(inputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--recordings", type=int, help="default: 8 on cpu, 512 on cuda")
    parser.add_argument("--batch-size", type=int, help="default: 4 on cpu, 64 on cuda")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no GPU here")
    torch.set_num_threads(args.threads)
    on_cpu = args.device == "cpu"
    recordings = args.recordings or (8 if on_cpu else 512)
    batch_size = args.batch_size or (4 if on_cpu else 64)
    device, precision = resolve_device("cpu" if on_cpu else "auto")

    pretrained = random_ast({key: getattr(ASTConfig(), key) for key in ARCHITECTURE}, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        wavs = write_phrases(tmp, recordings, args.seed)
        longest = max(num_frames(soundfile.info(str(p)).frames) for p in wavs)
        auto = auto_max_length(longest, pretrained.config)
        results = {}
        for name, length in (("1024", 1024), ("auto", auto)):
            model = binary_classifier(pretrained, length, args.seed)
            inputs = load_inputs(wavs, ASTFeatureExtractor(max_length=length))
            results[name] = throughput(model, inputs, batch_size, device, precision)
            del model

    print(
        f"device {args.device} ({precision or 'float32'}), full-size AST architecture, {recordings} phrases of 2-4 s "
        f"(longest {longest} frames), batch {batch_size}"
    )
    for name, length in (("1024", 1024), ("auto", auto)):
        per_second, cpu = results[name]
        print(f"max_length {name:>4} ({length:4d} frames): {per_second:8.2f} recordings/s  ({cpu:.2f} CPU s per recording)")
    print(f"speed-up of auto over 1024 (wall time): {results['auto'][0] / results['1024'][0]:.2f}x (expected >= 2.5x)")
    if on_cpu:
        print(f"speed-up of auto over 1024 (CPU time):  {results['1024'][1] / results['auto'][1]:.2f}x")


if __name__ == "__main__":
    main()
