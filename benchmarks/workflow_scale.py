"""Workflow scale on a 2,000-session corpus: dry-run planning time, and the per-recording
resample stage through Snakemake (with the workflow profile, as every run gets it) against the
same resampling in one Python loop.

Baselines measured in the same run: a toy workflow of 6,000 per-file jobs (planning); a
single-process loop over the same files; and as many per-file jobs that only copy a file, which
is what Snakemake itself costs per job, once with Snakemake's defaults and once with the
workflow profile's scheduler settings (the floor the resample stage runs on). Besides wall time,
the CPU time of Snakemake and its jobs together: it varies less than wall time on a shared
machine. The corpus is the real session table's first 2,000 sessions with 2.5 s test signals at
50 kHz (the synthetic voices are not needed to time file handling)."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

from svd_explain.audio import resample_recording  # noqa: E402
from svd_explain.catalog import default_metadata, read_metadata  # noqa: E402


def make_corpus(folder, n_sessions, seed=0):
    metadata = read_metadata(default_metadata()).head(n_sessions)
    metadata.to_csv(folder / "summary.csv", index=False)
    rng = np.random.default_rng(seed)
    t = np.arange(int(2.5 * 50000)) / 50000
    for session in metadata["AufnahmeID"]:
        # A buzz with 20 harmonics: a pure tone would be excluded as an EGG signal (audio.py).
        phase = 2 * np.pi * rng.uniform(90, 250) * t
        voice = 0.1 * sum(np.sin(k * phase) / k for k in range(1, 21)) + 0.01 * rng.standard_normal(t.size)
        soundfile.write(folder / f"{session}-phrase.wav", voice, 50000, subtype="PCM_16")
    return metadata


def run(args, cwd):
    """Wall seconds of a command, and the CPU seconds of it and its children."""
    start, cpu = time.perf_counter(), os.times()
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = os.times()
    return time.perf_counter() - start, (done.children_user - cpu.children_user) + (done.children_system - cpu.children_system)


def profile_scheduler_flags():
    """The scheduler settings of the workflow profile, as command-line flags."""
    profile = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
    return [f"--{key}={value}" for key, value in profile.items() if key.startswith("scheduler")]


def toy_workflow(folder, n_jobs):
    """A workflow of `n_jobs` per-file jobs that each copy a small file."""
    folder.mkdir()
    (folder / "Snakefile").write_text(
        f"N = range({n_jobs})\n"
        "rule all:\n    input: expand('out/{i}.txt', i=N)\n"
        "rule one:\n    input: 'in/{i}.txt'\n    output: 'out/{i}.txt'\n    shell: 'cp {input} {output}'\n"
    )
    (folder / "in").mkdir()
    for i in range(n_jobs):
        (folder / "in" / f"{i}.txt").write_text("x")
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--cores", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "raw").mkdir()
        make_corpus(tmp / "raw", options.sessions)
        config = [
            "--config", f"corpus={{source: svd, root: {tmp / 'raw'}, metadata: {tmp / 'raw' / 'summary.csv'}}}",
            f"results={tmp / 'results'}",
            "catalog={sessions: all}",
        ]
        workflow = SNAKEMAKE + ["-s", str(ROOT / "Snakefile"), "-d", str(tmp)] + config

        catalog_s, _ = run(workflow + ["--cores", "1", "--until", "catalog"], ROOT)
        n = len(pd.read_parquet(tmp / "results" / "catalog" / "sessions.parquet"))
        planning_s, _ = run(workflow + ["-n", "--quiet", "--cores", "1"], ROOT)
        toy_s, _ = run(SNAKEMAKE + ["-n", "--quiet", "--cores", "1"], toy_workflow(tmp / "toy", 3 * n))
        print(f"catalog of {n} sessions (reads and checks every file): {catalog_s:.1f} s")
        print(f"dry-run planning of the whole workflow, {n} sessions: {planning_s:.1f} s (target < 10 s)")
        print(f"toy workflow with {3 * n} per-file jobs: {toy_s:.1f} s; ratio {planning_s / toy_s:.2f}")

        sessions = pd.read_parquet(tmp / "results" / "catalog" / "sessions.parquet")["session_id"]
        audio = [str(tmp / "results" / "audio" / f"{s}.wav") for s in sessions]
        stage_s, stage_cpu = run(workflow + ["--cores", str(options.cores), *audio], ROOT)
        written = len(list((tmp / "results" / "audio").glob("*.wav")))
        if written != n:
            raise RuntimeError(f"the resample stage wrote {written} of {n} recordings")
        sources = sorted((tmp / "raw").glob("*-phrase.wav"))
        start = time.perf_counter()
        for source in sources:
            resample_recording(source, tmp / "loop" / f"{source.name}", 16000)
        loop_s = time.perf_counter() - start
        print(
            f"resample stage, {n} recordings through snakemake --cores {options.cores} (workflow profile): "
            f"{stage_s:.1f} s ({stage_s / n * 1000:.0f} ms per recording; target < 300 s), "
            f"CPU {stage_cpu:.0f} s ({stage_cpu / n * 1000:.0f} ms per recording)"
        )
        print(f"same resampling in one Python loop (1 core): {loop_s:.1f} s; ratio {stage_s / loop_s:.1f}")
        # What Snakemake itself costs per job here: the same number of jobs that only copy a file,
        # with Snakemake's defaults, then with the scheduler settings of the workflow profile.
        toy = toy_workflow(tmp / "trivial", n)
        for title, flags in (("Snakemake's defaults", []), ("the profile's " + " ".join(profile_scheduler_flags()),
                                                             profile_scheduler_flags())):
            shutil.rmtree(toy / "out", ignore_errors=True)
            shutil.rmtree(toy / ".snakemake", ignore_errors=True)
            trivial_s, trivial_cpu = run(SNAKEMAKE + ["--quiet", "--cores", str(options.cores), *flags], toy)
            print(
                f"{n} trivial per-file jobs (cp), {title}: {trivial_s:.1f} s, CPU {trivial_cpu:.0f} s; resample "
                f"stage / trivial jobs = {stage_s / trivial_s:.2f} (wall), {stage_cpu / trivial_cpu:.2f} (CPU)"
            )


if __name__ == "__main__":
    main()
