"""The frozen-backbone configuration (`train: head`): training time with the cached pooled
outputs against the straightforward Trainer run through the whole model with the backbone
frozen (the baseline, measured in the same run), for 10 epochs, and how equal the results are.

Full-size AST architecture (ASTConfig defaults = the real checkpoint's, random weights) made
into a base checkpoint like the real one (input length `auto`, two labels), 2-4 s synthetic
phrases, the study's ast_freeze settings (lr 1e-3, batch 8 x 4 accumulated) with patience =
epochs so that both runs train every epoch. Times are whole `train_model` calls (features,
Trainer, saving) for both.

`python benchmarks/frozen_cache.py [--device cpu|cuda] [--recordings N] [--epochs 10]`"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import torch
from transformers import ASTConfig, ASTFeatureExtractor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from svd_explain.ast_model import load_model, random_ast, write_base_checkpoint  # noqa: E402
from svd_explain.predict import predict  # noqa: E402
from svd_explain.train import train_model  # noqa: E402

ARCHITECTURE = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "num_mel_bins")


def write_phrases(folder, n, seed):
    """n synthetic 2-4 s "phrases" at 16 kHz (a harmonic voice with a gliding f0, noisier when
    pathological, labels alternating) and a split table: every fifth recording in dev, the
    others in train. Returns (split path, audio folder)."""
    rng = np.random.default_rng(seed)
    audio = Path(folder, "audio")
    audio.mkdir(parents=True)
    rows = []
    for session in range(n):
        label = session % 2
        t = np.arange(int(rng.uniform(2, 4) * 16000)) / 16000
        phase = 2 * np.pi * np.cumsum(rng.uniform(100, 220) * (1 + 0.1 * np.sin(np.pi * t))) / 16000
        voice = 0.1 * sum(np.sin(k * phase) / k for k in range(1, 8))
        voice += (0.03 if label else 0.005) * rng.standard_normal(t.size)
        soundfile.write(audio / f"{session}.wav", voice.astype(np.float32), 16000, subtype="PCM_16")
        rows.append({"session_id": session, "split": "dev" if session % 5 == 4 else "train", "label": label})
    pd.DataFrame(rows).to_parquet(Path(folder, "split.parquet"))
    return Path(folder, "split.parquet"), audio


def full_size_base(folder, wavs, seed):
    """A base checkpoint from a random full-size AST saved like a downloaded one."""
    pretrained = random_ast({key: getattr(ASTConfig(), key) for key in ARCHITECTURE}, seed)
    pretrained.save_pretrained(folder / "pretrained")
    ASTFeatureExtractor().save_pretrained(folder / "pretrained")
    write_base_checkpoint(str(folder / "pretrained"), "auto", None, seed, wavs, folder / "base")
    return folder / "base"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--recordings", type=int, help="train + dev recordings, at least 10 (default: 10 on cpu, 600 on cuda)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no GPU here")
    recordings = args.recordings or (10 if args.device == "cpu" else 600)
    if recordings < 10:
        sys.exit("--recordings: at least 10, so that dev has both classes")
    torch.set_num_threads(args.threads)
    model = {"train": "head", "top_layers": 2, "learning_rate": 1e-3, "epochs": args.epochs, "patience": args.epochs}
    training = {
        "per_device_batch_size": 8,
        "gradient_accumulation_steps": 4,
        "warmup_ratio": 0.1,
        "logging_steps": 50,
        "early_stopping_threshold": 0.0,
        "metric_for_best_model": "uar",
        "device": "auto" if args.device == "cuda" else "cpu",
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        split, audio = write_phrases(tmp, recordings, args.seed)
        wavs = sorted(audio.glob("*.wav"))
        base = full_size_base(tmp, wavs, args.seed)
        seconds, cpu_seconds, training_seconds, histories, scores = {}, {}, {}, {}, {}
        for name, cached in (("straightforward", False), ("cached", True)):
            model_dir = tmp / name
            start, cpu_start = time.perf_counter(), time.process_time()
            summary = train_model(base, split, audio, model_dir, tmp / "work", model, training, args.seed, frozen_cache=cached)
            seconds[name], cpu_seconds[name] = time.perf_counter() - start, time.process_time() - cpu_start
            training_seconds[name] = summary["training_seconds"]
            histories[name] = pd.read_csv(model_dir / "history.tsv", sep="\t")
            predict(model_dir, split, audio, tmp / f"{name}.parquet", tmp / "embeddings.parquet", 8, training["device"])
            scores[name] = pd.read_parquet(tmp / f"{name}.parquet")["score"].to_numpy()
        length = load_model(base)[1].max_length

    print(
        f"device {args.device}, full-size AST architecture (random weights), input {length} frames "
        f"(auto), {recordings} recordings of 2-4 s, {len(histories['cached'])} epochs"
    )
    print("whole train_model call (features, model loading and saving included); training alone (cache + Trainer run)")
    for name, title in (("straightforward", "straightforward Trainer run, frozen backbone (baseline)"), ("cached", "cached pooled outputs + head-only Trainer run")):
        print(
            f"{title:56s} {seconds[name]:8.1f} s wall, {cpu_seconds[name]:8.1f} s CPU; "
            f"training {training_seconds[name]:8.1f} s wall"
        )
    print(
        f"speed-up of the cache: training {training_seconds['straightforward'] / training_seconds['cached']:.1f}x "
        f"(target >= 5x); whole call {seconds['straightforward'] / seconds['cached']:.1f}x wall time, "
        f"{cpu_seconds['straightforward'] / cpu_seconds['cached']:.1f}x CPU time"
    )
    difference = np.abs(scores["cached"] - scores["straightforward"]).max()
    same_history = np.allclose(
        histories["cached"].to_numpy(float), histories["straightforward"].to_numpy(float), rtol=1e-4, atol=1e-6
    )
    print(
        f"equal results: max |P(pathological) difference| over all recordings {difference:.1e}; per-epoch history "
        f"(losses, dev UAR/AUC) equal: {same_history}; dev UAR by epoch {histories['cached']['eval_uar'].round(3).tolist()}"
    )


if __name__ == "__main__":
    main()
