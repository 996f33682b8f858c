"""The cost of each explainer per recording against attention rollout (the baseline, measured in
the same run), for the full-size AST architecture (ASTConfig defaults, random weights) at the
demo's input length (`auto` for 2-4 s phrases: 406 frames), on 2-4 s synthetic phrases with 22
phone-like segments each (the phrase's phone count). Each explainer runs as the workflow runs
it (explain_maps.method_maps), one warm-up batch first.

`python benchmarks/explanations.py [--recordings 2] [--batch-size 2] [--device auto|cpu]`"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import ASTFeatureExtractor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from svd_explain import explain_maps, features, occlusion  # noqa: E402
from svd_explain.ast_model import random_ast, resolve_device  # noqa: E402
from svd_explain.textgrids import Segment  # noqa: E402

from ast_length import write_phrases  # noqa: E402

MAX_LENGTH = 406
PHONES = 22
SEED = 13


def phone_segments(duration_s):
    """PHONES equal segments over the middle 80 % of a recording, as Segments (s)."""
    edges = np.linspace(0.1 * duration_s, 0.9 * duration_s, PHONES + 1)
    words = [Segment(edges[0], edges[-1], "phrase")]
    return words, [Segment(a, b, f"p{k}") for k, (a, b) in enumerate(zip(edges[:-1], edges[1:]))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--device", choices=["auto", "cpu"], default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)[0]
    model = random_ast({}, SEED, max_length=MAX_LENGTH).to(device).eval()
    extractor = ASTFeatureExtractor(max_length=MAX_LENGTH)
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_phrases(tmp, args.recordings + args.batch_size, SEED)
        inputs = features.load_inputs(paths, extractor)
        n_frames = [min(features.num_frames(features.read_wav(p, 16000).size), MAX_LENGTH) for p in paths]
        sessions = list(range(len(paths)))
        settings = explain_maps.Settings(occlusion.padding_value(extractor))
        settings.alignments = {s: phone_segments(n / 100) for s, n in zip(sessions, n_frames)}
    print(f"full-size AST (768 wide, 12 layers), max_length {MAX_LENGTH}, {args.recordings} recordings, batch "
          f"{args.batch_size}, on {device}")
    seconds = {}
    for method in explain_maps.METHODS:
        warm = slice(0, args.batch_size)
        explain_maps.method_maps(method, model, inputs[warm], sessions[warm], n_frames[warm], settings)
        start = time.perf_counter()
        for first in range(args.batch_size, len(paths), args.batch_size):
            batch = slice(first, first + args.batch_size)
            explain_maps.method_maps(method, model, inputs[batch], sessions[batch], n_frames[batch], settings)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds[method] = (time.perf_counter() - start) / args.recordings
    for method, per_recording in seconds.items():
        print(f"  {method:24s} {per_recording:8.2f} s per recording   {per_recording / seconds['rollout']:6.1f}× rollout")


if __name__ == "__main__":
    main()
