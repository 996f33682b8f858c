"""With a fixed Kaldi model (align.kaldi.model), a new or changed recording realigns on its own:
one alignment job, no training; and editing the training code realigns nothing. Checked with
the real snakemake on a tiny synthetic corpus."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import soundfile
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {
    "corpus": {"synthetic": {"n_sessions": 6}},
    "align": {"backend": "kaldi", "kaldi": {"em_iterations": 3, "split_at": [2], "max_gaussians": 2}},
}


def snakemake(workdir, config, *args, snakefile=ROOT / "Snakefile"):
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [
        sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir),
        "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args, "results/alignment/failed.tsv",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"snakemake failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done.stdout + done.stderr


def planned_jobs(output):
    """{rule: count} from the job stats of a dry run (empty when nothing is to be done)."""
    table = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE) if rule != "total"}


def test_changing_one_recording_with_a_fixed_model_reruns_one_alignment(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    snakemake(workdir, CONFIG)
    fixed_model = tmp_path / "model"
    shutil.copytree(workdir / "results" / "alignment" / "model", fixed_model)
    fixed = {**CONFIG, "align": {"backend": "kaldi", "kaldi": {**CONFIG["align"]["kaldi"], "model": str(fixed_model)}}}
    snakemake(workdir, fixed)
    assert planned_jobs(snakemake(workdir, fixed, "-n")) == {}

    # Training code is not what a fixed model's alignment jobs run: editing it (in a copy of
    # the checkout, seen by mtime) realigns nothing; editing the alignment code realigns all.
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "results", ".snakemake", "__pycache__", ".pytest_cache"))
    mtime_only = ("-n", "--rerun-triggers", "mtime", "--")
    align = checkout / "src" / "svd_explain" / "align"
    for module in ("training", "flatstart", "estimation"):
        (align / f"{module}.py").write_text((align / f"{module}.py").read_text() + "\n# edited\n")
    assert planned_jobs(snakemake(workdir, fixed, *mtime_only, snakefile=checkout / "Snakefile")) == {}
    (align / "recording.py").write_text((align / "recording.py").read_text() + "\n# edited\n")
    assert planned_jobs(snakemake(workdir, fixed, *mtime_only, snakefile=checkout / "Snakefile")) == {
        "align_recording": len(list((workdir / "results" / "audio").glob("*.wav"))), "align_failures": 1,
    }

    recordings = sorted((workdir / "results" / "audio").glob("*.wav"))
    assert len(recordings) >= 5
    samples, rate = soundfile.read(recordings[2])
    soundfile.write(recordings[2], 0.8 * samples, rate, subtype="PCM_16")

    dry_run = snakemake(workdir, fixed, "-n")
    assert planned_jobs(dry_run) == {"align_recording": 1, "align_failures": 1}
    assert f"results/alignment/{recordings[2].stem}.TextGrid" in dry_run
    # For contrast: with the model trained here, the changed recording retrains it, and every
    # recording realigns with the new model.
    assert planned_jobs(snakemake(workdir, CONFIG, "-n")) == {
        "align_train": 1, "align_recording": len(recordings), "align_failures": 1,
    }
