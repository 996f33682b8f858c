"""The study on one GPU, rehearsed at full size: config/paper.yaml's workflow through the real
`snakemake`, with nothing from outside, timed stage by stage.

    python benchmarks/run.py study                         # CPU size: the whole path, small
    python benchmarks/run.py study --device cuda --quick   # one GPU, a few minutes
    python benchmarks/run.py study --device cuda           # one GPU, the study's size

What runs:
1. A full-size AST with random weights, stored where `hf download MIT/ast-finetuned-audioset-
   10-10-0.4593` puts the real one: a Hugging Face cache (HF_HOME in the work folder; blobs,
   refs/main and a snapshot of symbolic links) holding the real checkpoint's configuration (768
   wide, 12 layers, 12 heads, intermediate 3072, 128 mel bins, max_length 1024, 527 labels, in
   the hub file's older format), its feature extractor and safetensors weights under the legacy
   (pre-5.9) key names. So the paper's loading path is what runs: the parse-time cache check,
   from_pretrained by name, and for `auto` the position-embedding cut.
2. A synthetic corpus in the official archive layout (the workflow's own synthetic_corpus rule),
   then read as a real SVD download: corpus.source svd, with its session table.
3. config/paper.yaml with the Kaldi aligner (MFA needs conda), through `snakemake --cores N
   --resources gpu=1`, once per input length: 1024 (the study's), then auto, for which Snakemake
   reruns only the base checkpoint and what depends on it.
4. For every stage (rule; per model for the AST rules): jobs, wall time (first start to last
   end, from Snakemake's log), recordings per second, peak GPU memory (from the rule's log),
   the GPU's mean utilisation while it ran (nvidia-smi, sampled every second), and for the
   fine-tuning its model FLOPs utilisation (MFU). Then the disk used, and the total.

FLOPs are counted by torch.utils.flop_counter.FlopCounterMode on one forward and backward pass
of the full-size model at the run's input length (on the meta device: matrix products,
attention and the patch convolution; 783 GFLOP per recording at 1024 frames, 3 x the forward's
261), times the recordings trained, over the time of the training steps alone (evaluation and
checkpoints excluded: train.StepClock). MFU is that rate over the device's dense bf16 peak (a
table of known GPUs below, or --peak-tflops), with the rate a large bf16 matrix product reaches
on the same device printed beside it.

Sizes: CPU (the default): 40 synthetic sessions, one epoch per model, input length auto only,
rollout alone of the explainers (a check that everything runs, in minutes on 2 cores).
--device cuda --quick: 300 sessions, 3 epochs per model, both lengths, every configured
explainer (meant for a few minutes on one H100-class GPU). --device cuda: every session the
synthetic corpus draws from the real session table (1,982), the paper's epochs (10 and 40,
early stopping as configured), both lengths. --sessions, --epochs and --lengths override each.

On a machine without the project's virtualenv but with PyTorch (a lent GPU machine), install
first the wheels that benchmarks/study_wheels.py downloads here; its docstring has the commands."""
import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

REPO_ID = "MIT/ast-finetuned-audioset-10-10-0.4593"
# The snapshot's name in the cache: any commit hash will do, the workflow resolves refs/main.
COMMIT = hashlib.sha1(b"svd-explain study rehearsal: random full-size AST").hexdigest()
AUDIOSET_LABELS = 527
SEED = 13
# Dense bf16 tensor-core peaks in TFLOP/s (NVIDIA's data sheets, without sparsity), matched in
# order against torch.cuda.get_device_name().
DENSE_BF16_TFLOPS = [
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.0),
    ("H200", 989.0),
    ("GH200", 989.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),
]
SIZES = {
    "cpu": {"sessions": 40, "epochs": (1, 1), "lengths": ["auto"]},
    "quick": {"sessions": 300, "epochs": (3, 3), "lengths": ["1024", "auto"]},
    "study": {"sessions": 1982, "epochs": None, "lengths": ["1024", "auto"]},
}
# The stages whose logs say how many recordings they ran and how much GPU memory they took.
AST_RULES = ("train_model", "predict", "rollout")


# -- the checkpoint, as the Hugging Face cache holds the real one -------------------------------


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_hf_checkpoint(hf_home, seed=SEED):
    """A random full-size AST in HF_HOME's hub cache under REPO_ID, laid out as huggingface_hub
    writes a download: blobs named by their hash (sha256 for the LFS weights, the git blob hash
    for the JSON files), refs/main naming the snapshot, and the snapshot's files as relative
    symbolic links to the blobs. Returns the snapshot folder."""
    import torch
    from safetensors import safe_open
    from torch import nn
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    labels = {i: f"AudioSet class {i}" for i in range(AUDIOSET_LABELS)}
    # ASTConfig's defaults are the real checkpoint's architecture; its dropout is 0.
    config = ASTConfig(
        max_length=1024, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        id2label=labels, label2id={name: i for i, name in labels.items()},
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = ASTForAudioClassification(config)
        embeddings = model.audio_spectrogram_transformer.embeddings
        with torch.no_grad():  # a trained AST's special tokens and position embeddings are not zero
            for parameter in (embeddings.cls_token, embeddings.distillation_token, embeddings.position_embeddings):
                nn.init.trunc_normal_(parameter, std=config.initializer_range)
    repo = Path(hf_home, "hub", f"models--{REPO_ID.replace('/', '--')}")
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        ASTFeatureExtractor(max_length=1024).save_pretrained(folder)
        with safe_open(Path(folder, "model.safetensors"), "pt") as weights:
            keys = list(weights.keys())
        if not any(".encoder.layer.0.attention.attention.query." in key for key in keys):
            raise RuntimeError(f"save_pretrained no longer writes the legacy key names: {keys[:4]}")
        # The hub file's older form: torch_dtype, and the version that wrote it.
        saved = json.loads(Path(folder, "config.json").read_text())
        saved["torch_dtype"] = saved.pop("dtype", "float32")
        saved["transformers_version"] = "4.25.0.dev0"
        Path(folder, "config.json").write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")
        snapshot = repo / "snapshots" / COMMIT
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        snapshot.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "preprocessor_config.json", "model.safetensors"):
            data = Path(folder, name).read_bytes()
            blob = hashlib.sha256(data).hexdigest() if name.endswith(".safetensors") else git_blob_sha1(data)
            Path(repo, "blobs", blob).write_bytes(data)
            link = snapshot / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(Path("..", "..", "blobs", blob))
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


# -- running the workflow -----------------------------------------------------------------------


def environment(hf_home):
    """The jobs' environment: the rehearsal's Hugging Face cache and no other."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE")}
    env["HF_HOME"] = str(hf_home)
    env["HF_HUB_OFFLINE"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def snakemake(workdir, args, env, log_path):
    """Run the project's snakemake in `workdir`; its output goes to `log_path`. Returns seconds."""
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir), *args]
    start = time.perf_counter()
    with open(log_path, "w") as log:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = Path(log_path).read_text(errors="replace")[-6000:]
        raise SystemExit(f"snakemake failed ({' '.join(command)}); end of {log_path}:\n{tail}")
    return seconds


STAMP = re.compile(r"^\[(\w{3} \w{3}\s+\d+ \d\d:\d\d:\d\d \d{4})\]$")
STARTED = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
JOB_ID = re.compile(r"^\s+jobid: (\d+)$")
MODEL = re.compile(r"^\s+wildcards: .*\bmodel=(\w+)")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def stage_spans(log_path):
    """{stage: (jobs, first start, last end)} from a Snakemake run's log; a stage is a rule, per
    model for the rules with a model wildcard. Times are datetimes (Snakemake logs seconds)."""
    jobs, stamp, current = {}, None, None
    for line in Path(log_path).read_text(errors="replace").splitlines():
        if match := STAMP.match(line):
            stamp = datetime.datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y")
        elif match := STARTED.match(line):
            current = {"rule": match.group(1), "start": stamp, "model": None}
        elif current and (match := JOB_ID.match(line)):
            jobs[match.group(1)] = current
        elif current and (match := MODEL.match(line)):
            current["model"] = match.group(1)
        elif match := FINISHED.match(line):
            if match.group(1) in jobs:
                jobs[match.group(1)]["end"] = stamp
    spans = {}
    for job in jobs.values():
        if "end" not in job:
            continue
        name = job["rule"] + (f"[{job['model']}]" if job["model"] else "")
        count, start, end = spans.get(name, (0, job["start"], job["end"]))
        spans[name] = (count + 1, min(start, job["start"]), max(end, job["end"]))
    return dict(sorted(spans.items(), key=lambda item: item[1][1]))


def newest_snakemake_log(workdir):
    return max((Path(workdir) / ".snakemake" / "log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)


class GpuSampler:
    """nvidia-smi's utilisation and memory of GPU 0, every second, in the background."""

    def __init__(self, path):
        self.path, self.process = Path(path), None
        if shutil.which("nvidia-smi"):
            self.process = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=timestamp,utilization.gpu,memory.used", "--format=csv,noheader,nounits",
                 "-i", "0", "-lms", "1000"],
                stdout=open(self.path, "w"), stderr=subprocess.DEVNULL,
            )

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait()

    def mean_utilisation(self, start, end):
        """Mean GPU utilisation (%) between two datetimes, or None."""
        if not self.path.is_file():
            return None
        values = []
        for line in self.path.read_text().splitlines():
            parts = [p.strip() for p in line.split(",")]
            try:
                stamp = datetime.datetime.strptime(parts[0].split(".")[0], "%Y/%m/%d %H:%M:%S")
                utilisation = float(parts[1])
            except (IndexError, ValueError):
                continue
            if start <= stamp <= end:
                values.append(utilisation)
        return sum(values) / len(values) if values else None


class DiskSampler:
    """The largest size of a folder (bytes), sampled every few seconds in the background: the
    training's checkpoints come and go."""

    def __init__(self, folder, every_s=5.0):
        self.folder, self.every_s, self.peak = Path(folder), every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(self.every_s):
            self.peak = max(self.peak, folder_bytes(self.folder))

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, folder_bytes(self.folder))


def folder_bytes(folder):
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


# -- what the rules' logs say -------------------------------------------------------------------

PEAK = re.compile(r"(\w+): peak GPU memory (\d+) MiB allocated, (\d+) MiB reserved")
STEPS = re.compile(r"training steps: (\d+) epochs x (\d+) recordings in ([\d.]+) s, ([\d.na]+) recordings/s \(micro-batch (\d+) x (\d+)")
PREDICTED = re.compile(r"(\d+) recordings on (\w+)")
ROLLED = re.compile(r"rollout: (\d+) / (\d+) recordings")


def rule_log(results, rule, model):
    folder = {"train_model": "train", "predict": "predict", "rollout": "explanations/rollout"}[rule]
    path = Path(results, "logs", folder, f"{model}.log")
    return path.read_text(errors="replace") if path.is_file() else ""


def ast_stage_facts(results, rule, model):
    """What the log of an AST rule says: recordings, peak GPU memory (MiB), training steps."""
    text = rule_log(results, rule, model)
    facts = {}
    if peaks := PEAK.findall(text):
        facts["peak_mib"] = int(peaks[-1][1])
    if rule == "train_model" and (steps := STEPS.findall(text)):
        epochs, recordings, seconds, _, batch, accumulation = steps[-1]
        facts.update(samples=int(epochs) * int(recordings), step_seconds=float(seconds),
                     micro_batch=f"{batch} x {accumulation}")
    elif rule == "predict" and (counts := PREDICTED.findall(text)):
        facts["recordings"] = int(counts[-1][0])
    elif rule == "rollout" and (counts := ROLLED.findall(text)):
        facts["recordings"] = int(counts[-1][1])
    return facts


def flops_per_training_sample(max_length):
    """Forward and backward FLOPs of the full-size AST for one recording at `max_length`
    frames (FlopCounterMode on the meta device: nothing is computed)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import ASTConfig, ASTForAudioClassification

    with torch.device("meta"):
        model = ASTForAudioClassification(ASTConfig(max_length=max_length, num_labels=2))
        inputs = torch.zeros(1, max_length, 128)
    with FlopCounterMode(display=False) as counter:
        model(inputs).logits.sum().backward()
    return counter.get_total_flops()


def device_peak_tflops(name, override):
    if override:
        return override
    for key, tflops in DENSE_BF16_TFLOPS:
        if key in name:
            return tflops
    return None


def matmul_tflops():
    """The bf16 rate of an 8192^3 matrix product on the GPU (mean of 10 after 3 warm-ups)."""
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    return 10 * 2 * 8192**3 / (time.perf_counter() - start) / 1e12


# -- the rehearsal ------------------------------------------------------------------------------


def overlay_config(corpus, length, epochs, device, size):
    """The rehearsal's settings on top of config/paper.yaml."""
    config = {
        "corpus": {"source": "svd", "root": str(corpus), "metadata": str(Path(corpus, "summary.csv"))},
        "align": {"backend": "kaldi"},
        "checkpoint": {"max_length": int(length) if length != "auto" else "auto"},
        "training": {"device": "auto" if device == "cuda" else "cpu"},
    }
    if epochs:
        freeze, finetuned = epochs
        config["models"] = {
            "ast_freeze": {"epochs": freeze, "patience": freeze},
            "ast_finetuned": {"epochs": finetuned, "patience": finetuned},
        }
    if size == "cpu":
        # A few sessions: small statistics, as the end-to-end tests use; and rollout alone of the
        # explainers (the gradient ones take minutes per recording through the full-size model
        # on a CPU; their own tests cover them).
        config["metrics"] = {"bootstrap": 50, "min_n": 2}
        config["representations"] = {"probe_permutations": 10}
        if "explain" in yaml.safe_load((ROOT / "config.yaml").read_text()):
            config["explain"] = {"methods": ["rollout"]}
    return config


def table(rows, columns):
    widths = [max(len(str(c)), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return "\n".join(lines)


def describe_run(results, spans, gpu_sampler, peak_tflops, flops):
    rows = []
    for stage, (jobs, start, end) in spans.items():
        seconds = max((end - start).total_seconds(), 1.0)  # Snakemake's log has whole seconds
        row = {"stage": stage, "jobs": jobs, "wall_s": f"{seconds:.0f}"}
        rule, _, model = stage.partition("[")
        if rule in AST_RULES and model:
            facts = ast_stage_facts(results, rule, model.rstrip("]"))
            if "peak_mib" in facts:
                row["peak_gpu_mib"] = facts["peak_mib"]
            # A head trained on the frozen cache logs steps too short for the log's resolution.
            if "samples" in facts and facts["step_seconds"] > 0:
                row["recordings_per_s"] = f"{facts['samples'] / facts['step_seconds']:.1f} (steps)"
                row["micro_batch"] = facts["micro_batch"]
                if flops and peak_tflops and "finetuned" in model:
                    achieved = flops * facts["samples"] / facts["step_seconds"] / 1e12
                    row["mfu"] = f"{100 * achieved / peak_tflops:.0f}% ({achieved:.0f} TFLOP/s)"
            elif "recordings" in facts:
                row["recordings_per_s"] = f"{facts['recordings'] / seconds:.1f}"
        elif jobs > 1:
            row["recordings_per_s"] = f"{jobs / seconds:.1f}"
        if gpu_sampler and (utilisation := gpu_sampler.mean_utilisation(start, end)) is not None:
            row["gpu_util"] = f"{utilisation:.0f}%"
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--quick", action="store_true", help="with --device cuda: the few-minute size")
    parser.add_argument("--sessions", type=int, help="synthetic sessions drawn (before the catalog)")
    parser.add_argument("--epochs", type=int, nargs=2, metavar=("FREEZE", "FINETUNED"),
                        help="epochs (and patience) of ast_freeze and ast_finetuned; default: the size's")
    parser.add_argument("--lengths", nargs="+", choices=["1024", "auto"], help="input lengths to run, in order")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temporary folder, removed)")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, if not in the table")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            sys.exit("--device cuda: no GPU here")
    size = "cpu" if args.device == "cpu" else ("quick" if args.quick else "study")
    sessions = args.sessions or SIZES[size]["sessions"]
    epochs = tuple(args.epochs) if args.epochs else SIZES[size]["epochs"]
    lengths = args.lengths or SIZES[size]["lengths"]

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="svd-study-"))
    workdir.mkdir(parents=True, exist_ok=True)
    hf_home, logs = workdir / "hf", workdir / "logs"
    logs.mkdir(exist_ok=True)
    env = environment(hf_home)
    summary = {"device": args.device, "size": size, "sessions_drawn": sessions, "epochs": epochs, "runs": []}
    try:
        start = time.perf_counter()
        snapshot = write_hf_checkpoint(hf_home)
        print(f"checkpoint: random full-size AST as {REPO_ID} in {snapshot} ({time.perf_counter() - start:.0f} s)",
              flush=True)

        corpus_run = workdir / "corpus"
        corpus_run.mkdir(exist_ok=True)
        corpus_config = corpus_run / "corpus.yaml"
        corpus_config.write_text(yaml.safe_dump({"corpus": {"synthetic": {"n_sessions": sessions}}, "results": "results"}))
        corpus_s = snakemake(
            corpus_run, ["results/corpus/synthetic", "--cores", str(args.cores), "--configfile", str(corpus_config)],
            env, logs / "corpus.log",
        )
        corpus = corpus_run / "results" / "corpus" / "synthetic"
        print(f"synthetic corpus: {sessions} sessions in the archive layout, {corpus_s:.0f} s (not part of the study)",
              flush=True)

        device_name, peak, measured = "CPU", None, None
        if args.device == "cuda":
            import torch

            device_name = torch.cuda.get_device_name(0)
            peak = device_peak_tflops(device_name, args.peak_tflops)
            measured = matmul_tflops()
            print(f"device: {device_name}; dense bf16 peak {peak or 'unknown'} TFLOP/s; an 8192^3 bf16 matrix "
                  f"product here: {measured:.0f} TFLOP/s", flush=True)
        summary.update(device_name=device_name, peak_tflops=peak, matmul_tflops=measured)

        study = workdir / "study"
        study.mkdir(exist_ok=True)
        results = study / yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())["results"]
        for length in lengths:
            overlay = study / f"rehearsal-{length}.yaml"
            overlay.write_text(yaml.safe_dump(overlay_config(corpus, length, epochs, args.device, size)))
            gpu_sampler = GpuSampler(logs / f"gpu-{length}.csv") if args.device == "cuda" else None
            disk = DiskSampler(study)
            try:
                run_args = ["--cores", str(args.cores), "--configfile", str(ROOT / "config" / "paper.yaml"), str(overlay)]
                if args.device == "cuda":
                    run_args += ["--resources", "gpu=1"]
                seconds = snakemake(study, run_args, env, logs / f"study-{length}.log")
            finally:
                disk.stop()
                if gpu_sampler:
                    gpu_sampler.stop()
            input_length = json.loads((results / "checkpoint" / "base" / "input_length.json").read_text())["max_length"]
            spans = stage_spans(newest_snakemake_log(study))
            flops = flops_per_training_sample(input_length)
            rows = describe_run(results, spans, gpu_sampler, peak, flops)
            n_sessions = len(pd.read_parquet(results / "split" / "split.parquet"))
            disk_gb = {name: folder_bytes(results / name) / 1e9 for name in ("audio", "alignment", "features", "models",
                                                                             "maps", "figures")}
            print(f"\n=== max_length {length} ({input_length} frames): {n_sessions} sessions after the catalog, "
                  f"{seconds:.0f} s through snakemake ({seconds / 60:.1f} min), {flops / 1e9:.0f} GFLOP per "
                  f"recording trained (forward + backward) ===", flush=True)
            print(table(rows, ["stage", "jobs", "wall_s", "recordings_per_s", "micro_batch", "peak_gpu_mib", "gpu_util",
                               "mfu"]), flush=True)
            print("disk (GB): " + ", ".join(f"{k} {v:.2f}" for k, v in disk_gb.items())
                  + f"; the study folder at its largest {disk.peak / 1e9:.2f}; the checkpoint cache "
                  f"{folder_bytes(hf_home) / 1e9:.2f}", flush=True)
            summary["runs"].append({"length": length, "input_frames": input_length, "sessions": n_sessions,
                                    "seconds": seconds, "flops_per_sample": flops, "stages": rows,
                                    "disk_gb": disk_gb, "peak_disk_gb": disk.peak / 1e9})
        total = sum(run["seconds"] for run in summary["runs"])
        print(f"\nthe study through snakemake, all lengths: {total:.0f} s ({total / 60:.1f} min) on {device_name} "
              f"with {args.cores} cores; logs in {logs}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1, default=str) + "\n")
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
