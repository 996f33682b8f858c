"""The workflow's first stages submitted to a real SLURM through profiles/slurm, compared with
the same stages run locally.

Needs the single-node cluster of `.ci/slurm.sh start` (CI starts it; so can you, as root).
Without one the tests are skipped, except under CI, where they fail: CI must run them.

The reduced target is the synthetic corpus, the catalog and the resampling of a few sessions:
three SLURM jobs, the resample jobs batched into one by the profile's group-components. The flags the test adds to the profile are those a cluster without job
accounting needs (shared/notes/slurm.md): squeue for job status, since sacct only answers
"accounting storage is disabled", and a short wait before the first status check.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slurm

ROOT = Path(__file__).resolve().parents[1]
N_SESSIONS = 6
REDUCED_CONFIG = {"corpus": {"synthetic": {"n_sessions": N_SESSIONS}}}
# snakemake does not stop on SIGTERM while SLURM jobs run: `timeout -k` kills it in the end.
TIMEOUT_S = 600
# Snakemake names a job by a number, a group job by a UUID.
SUBMITTED = re.compile(r"Job \S+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")


@pytest.fixture(scope="module")
def slurm_cluster():
    """Skips (fails under CI) when no cluster answers."""
    up = shutil.which("scontrol") is not None and (
        subprocess.run(["bash", str(ROOT / ".ci" / "slurm.sh"), "status"]).returncode == 0
    )
    if not up:
        reason = "no SLURM cluster is up: start one with `bash .ci/slurm.sh start` (as root)"
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must run the SLURM tests")
        pytest.skip(reason)


def run_reduced(workdir, *options):
    """Run the reduced target in `workdir`; returns snakemake's output.

    Two invocations, because the per-recording jobs exist only once the catalog checkpoint has
    run, and `--until resample` cannot see past a checkpoint: the catalog first (corpus and
    catalog jobs), then every resampled recording it lists (one batch of resample jobs)."""
    workdir.mkdir(parents=True)
    (workdir / "reduced.yaml").write_text(yaml.safe_dump(REDUCED_CONFIG))
    catalog = "results/catalog/sessions.parquet"
    output = snakemake(workdir, [catalog], options)
    audio = [f"results/audio/{s}.wav" for s in pd.read_parquet(workdir / catalog)["session_id"]]
    return output + snakemake(workdir, audio, options)


def snakemake(workdir, targets, options):
    command = [
        "timeout", "-k", "10", str(TIMEOUT_S),
        sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
        "--configfile", str(ROOT / "config.yaml"), str(workdir / "reduced.yaml"),
        *options, *targets,
    ]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    output = done.stdout + done.stderr
    with open(workdir / "snakemake.out", "a") as log:
        log.write(output)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-6000:]}"
    return output


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm") / "work"
    output = run_reduced(
        workdir,
        "--profile", str(ROOT / "profiles" / "slurm"),
        # This cluster has no accounting and 2 CPUs; a real one needs none of these.
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "15",
        "--slurm-keep-successful-logs",
        "--cores", str(os.cpu_count() or 2),
        "--latency-wait", "5",
    )
    return workdir, output


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("local") / "work"
    # profiles/default, the workflow profile, applies by itself.
    run_reduced(workdir, "--cores", "2")
    return workdir


def submissions(output):
    """{SLURM job id: its log file} from snakemake's output."""
    return {job_id: Path(log) for job_id, log in SUBMITTED.findall(output)}


def log_folder(log):
    """rule_<rule> or group_<group>...: the plugin's folder for a job's log."""
    return next(p for p in log.parts if p.startswith(("rule_", "group_")))


def test_each_stage_ran_as_a_finished_slurm_job_in_the_workdir(slurm_run):
    workdir, output = slurm_run
    jobs = submissions(output)
    # One SLURM job for the corpus and one for the catalog; the resample jobs in one batch.
    folders = sorted(log_folder(log) for log in jobs.values())
    assert len(folders) == 3 and folders[0].startswith("group_resample_batch"), output[-4000:]
    assert folders[1:] == ["rule_catalog", "rule_synthetic_corpus"], output[-4000:]
    for job_id, log in jobs.items():
        shown = subprocess.run(
            ["scontrol", "show", "job", job_id], capture_output=True, text=True, check=True
        ).stdout
        assert "JobState=COMPLETED" in shown, shown
        assert f"WorkDir={workdir}" in shown, shown
        assert log.is_relative_to(workdir / ".snakemake" / "slurm_logs"), log
        assert log.stat().st_size > 0, log


def test_the_batch_ran_every_resample_job(slurm_run):
    workdir, output = slurm_run
    sessions = pd.read_parquet(workdir / "results" / "catalog" / "sessions.parquet")
    (batch,) = [log for log in submissions(output).values() if log_folder(log).startswith("group_")]
    ran = re.findall(r"rule resample:.*?wildcards: session=(\d+)", batch.read_text(), flags=re.S)
    assert set(ran) == {str(s) for s in sessions["session_id"]} and ran


def comparable(table, workdir):
    """A results table with the workdir taken out of its paths."""
    return table.map(lambda v: v.replace(str(workdir), "WORKDIR") if isinstance(v, str) else v)


def test_outputs_equal_a_local_runs(slurm_run, local_run):
    slurm_dir, _ = slurm_run
    for name in ("sessions.parquet", "excluded.tsv"):
        read = pd.read_parquet if name.endswith(".parquet") else lambda p: pd.read_csv(p, sep="\t")
        on_slurm = comparable(read(slurm_dir / "results" / "catalog" / name), slurm_dir)
        local = comparable(read(local_run / "results" / "catalog" / name), local_run)
        pd.testing.assert_frame_equal(on_slurm, local)
    slurm_audio = sorted((slurm_dir / "results" / "audio").glob("*.wav"))
    local_audio = sorted((local_run / "results" / "audio").glob("*.wav"))
    assert [p.name for p in slurm_audio] == [p.name for p in local_audio] and slurm_audio
    for on_slurm, local in zip(slurm_audio, local_audio):
        assert on_slurm.read_bytes() == local.read_bytes(), on_slurm.name
