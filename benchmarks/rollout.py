"""Attention rollout: the batched, hook-based implementation (svd_explain.rollout) against the
direct one (eager attention, `output_attentions`, full matrix products: the baseline, measured
in the same run), on the full-size AST architecture (ASTConfig defaults, random weights) at
max_length 1024, with 2–4 s synthetic phrases. Prints:

1. the rollout computation alone, from the same forward pass's attentions: head fusion + the
   special-token row propagated right to left, against the full products (and how far apart
   the two maps are);
2. recordings per second end to end, forward pass included;
3. the peak memory of one recording above the loaded model, for each implementation and for
   the plain forward pass, each in a fresh process after a warm-up run (Linux: the peak RSS,
   reset through /proc/self/clear_refs, with glibc returning freed blocks at once; CUDA: the
   allocator's peak), and the size of the attention tensors each keeps;
4. the figure rendering time per recording (two panels with phones, the config's default
   200 dpi at 7 in), against the rollout time per recording.

`python benchmarks/rollout.py [--recordings 4] [--batch-size 2] [--device auto|cpu]`"""
import argparse
import gc
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from transformers import ASTConfig, ASTFeatureExtractor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from svd_explain import rollout  # noqa: E402
from svd_explain.ast_model import patch_grid, random_ast, resolve_device  # noqa: E402
from svd_explain.features import load_inputs, log_mel  # noqa: E402
from svd_explain.figures import Panel, draw_relevance_figure  # noqa: E402
from svd_explain.textgrids import Segment  # noqa: E402

from ast_length import write_phrases  # noqa: E402  (the same test phrases as that benchmark)

MAX_LENGTH = 1024
SEED = 13
LEXICON = Path(__file__).resolve().parents[1] / "resources" / "lexicon.txt"


def full_size_model(device):
    return random_ast({}, SEED).to(device).eval()  # ASTConfig defaults: 12 layers, 768 wide, 12 heads


def direct_forward(model, inputs):
    """Eager attention with every layer's attention tensor kept."""
    model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            return model(inputs, output_attentions=True)
    finally:
        model.set_attn_implementation("sdpa")


def direct_maps(model, inputs, head_fusion="mean", tokens="mean"):
    attentions = direct_forward(model, inputs).attentions
    with torch.inference_mode():
        return rollout.patches_to_spectrogram(rollout.direct_rollout(attentions, head_fusion, tokens), model.config)


def hooked_maps_from_attentions(attentions, config, head_fusion="mean", tokens="mean"):
    """What the hooks compute, from full attention tensors: head fusion per layer, then the
    row-vector rollout."""
    with torch.inference_mode():
        fused = [rollout.fuse_heads(a, head_fusion) for a in attentions]
        return rollout.patches_to_spectrogram(rollout.rollout_from_fused(fused, tokens), config)


def synchronise(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(function, device):
    synchronise(device)
    start = time.perf_counter()
    result = function()
    synchronise(device)
    return time.perf_counter() - start, result


def plain_forward(model, inputs):
    with torch.inference_mode():
        return model(inputs).logits


def _peak_memory(variant, device_name, queue):
    """In a fresh process: the peak memory (MB) above what is held before the run, while one
    recording is rolled out with `variant` (after a warm-up run, so that one-off costs such as
    code pages and thread buffers are not counted)."""
    torch.set_num_threads(1)
    device = torch.device(device_name)
    model = full_size_model(device)
    run = {"forward": plain_forward, "hooks": rollout.relevance_maps, "direct": direct_maps}[variant]
    inputs = torch.randn(1, MAX_LENGTH, 128, generator=torch.Generator().manual_seed(0)).to(device)
    run(model, inputs)  # warm-up
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        baseline = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        run(model, inputs)
        torch.cuda.synchronize()
        queue.put((torch.cuda.max_memory_allocated() - baseline) / 2**20)
        return
    baseline = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak RSS starts again from here
    run(model, inputs)
    queue.put((_status_kb("VmHWM") - baseline) / 1024)


def _status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_memory_mb(variant, device):
    """The peak memory of one recording (MB), measured in a fresh process. On the CPU, glibc
    serves every allocation of 64 kB or more by mmap there and returns it on free, so that the
    resident set follows the memory in use and its peak is the peak in use."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    previous = os.environ.get("MALLOC_MMAP_THRESHOLD_")
    os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"
    try:
        process = context.Process(target=_peak_memory, args=(variant, device.type, queue))
        process.start()
    finally:
        if previous is None:
            del os.environ["MALLOC_MMAP_THRESHOLD_"]
        else:
            os.environ["MALLOC_MMAP_THRESHOLD_"] = previous
    result = queue.get()
    process.join()
    return result


def sentence_segments(duration):
    """The phrase's words and phones spread evenly over the middle of the recording."""
    lexicon = [line.split("\t") for line in LEXICON.read_text(encoding="utf-8").splitlines() if line]
    phones = [(word, phone) for word, pron in lexicon for phone in pron.split()]
    start, step = 0.15 * duration, 0.7 * duration / len(phones)
    phone_segments = [Segment(start + i * step, start + (i + 1) * step, p) for i, (_, p) in enumerate(phones)]
    words, index = [], 0
    for word, pron in lexicon:
        count = len(pron.split())
        words.append(Segment(phone_segments[index].start, phone_segments[index + count - 1].end, word))
        index += count
    return words, phone_segments


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--device", choices=("auto", "cpu"), default="auto")
    # One thread by default: this benchmark's machine is shared, and oversubscribed threads
    # make timings erratic.
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)[0]
    model = full_size_model(device)
    n_tokens = 2 + int(np.prod(patch_grid(model.config)))
    print(f"full-size AST, random weights, max_length {MAX_LENGTH} ({n_tokens} tokens), {args.recordings} "
          f"recordings, batch {args.batch_size}, {device} ({torch.get_num_threads()} threads)")

    with tempfile.TemporaryDirectory() as folder:
        paths = write_phrases(folder, args.recordings, SEED)
        extractor = ASTFeatureExtractor(max_length=MAX_LENGTH)
        inputs = load_inputs(paths, extractor).to(device)
        batches = [inputs[i : i + args.batch_size] for i in range(0, len(inputs), args.batch_size)]

        # 1. the rollout alone, from one forward pass's attentions
        attentions = direct_forward(model, batches[0]).attentions
        direct_s, direct_map = timed(lambda: rollout.patches_to_spectrogram(
            rollout.direct_rollout(attentions), model.config), device)
        hooked_s, hooked_map = timed(lambda: hooked_maps_from_attentions(attentions, model.config), device)
        difference = ((hooked_map - direct_map).abs() / direct_map.nanmean()).nan_to_num().max().item()
        attentions = None  # freed before the timings below (the lambdas above have run)
        per = len(batches[0])
        print(f"\n1. rollout alone (same forward pass), per recording: direct {1000 * direct_s / per:.0f} ms, "
              f"hooks {1000 * hooked_s / per:.1f} ms: {direct_s / hooked_s:.0f}x faster "
              f"(max difference {difference:.1e} of the mean relevance)")

        # 2. end to end, forward pass included (one warm-up batch each, not timed)
        rollout.relevance_maps(model, batches[0][:1])
        hooks_s, _ = timed(lambda: [rollout.relevance_maps(model, b) for b in batches], device)
        direct_s, _ = timed(lambda: [direct_maps(model, b) for b in batches], device)
        print(f"2. end to end: hooks {args.recordings / hooks_s:.3f} recordings/s, direct "
              f"{args.recordings / direct_s:.3f} recordings/s: {direct_s / hooks_s:.2f}x")

        # 3. peak memory per recording, each measurement in a fresh process
        del model
        forward_mb, hooks_mb, direct_mb = (peak_memory_mb(v, device) for v in ("forward", "hooks", "direct"))
        layers, heads = ASTConfig().num_hidden_layers, ASTConfig().num_attention_heads
        kept_direct = layers * heads * n_tokens**2 * 4 / 2**20
        kept_hooks = layers * n_tokens**2 * 4 / 2**20
        print(f"3. peak memory per recording above the loaded model: hooks {hooks_mb:.0f} MB, direct {direct_mb:.0f} MB: "
              f"{direct_mb / hooks_mb:.1f}x lower; the forward pass alone (SDPA, no rollout) {forward_mb:.0f} MB, "
              f"so the rollout adds {hooks_mb - forward_mb:.0f} MB with hooks and {direct_mb - forward_mb:.0f} MB "
              f"directly: {(direct_mb - forward_mb) / (hooks_mb - forward_mb):.1f}x lower. Attention kept: "
              f"{kept_hooks:.0f} MB head-fused vs {kept_direct:.0f} MB per head ({kept_direct / kept_hooks:.0f}x)")

        # 4. figure rendering, per recording
        model = full_size_model(device)
        scores, maps = rollout.relevance_maps(model, inputs[:2])
        figure_times = []
        for index, path in enumerate(paths[:2]):
            fbank = log_mel(path, extractor)[:MAX_LENGTH].T
            frames = fbank.shape[1]
            relevance = maps[index][:, :frames]
            words, phones = sentence_segments(frames * 0.01)
            panels = [Panel(f"model {m}: P = {scores[index]:.2f}", fbank, relevance) for m in ("a", "b")]
            seconds, _ = timed(lambda: draw_relevance_figure(panels, f"recording {index}", [Path(folder, f"{index}.png")],
                                                              words, phones, dpi=200, width_in=7.0), device)
            figure_times.append(seconds)
        figure_s = float(np.mean(figure_times))
        print(f"4. figure rendering: {figure_s:.2f} s per recording (PNG, 200 dpi, 7 in, two panels), "
              f"{figure_s / (hooks_s / args.recordings):.2f}x the hooked rollout time per recording")


if __name__ == "__main__":
    main()
