"""Each rule's code runs under its own env alone: the tiny workflow with `--sdm conda`, every
env's pip layer built as its own virtualenv from the env file (tests/isolated_envs.py), a
stand-in conda (tests/fake_conda) that hands Snakemake those envs, and a guard that keeps the
driver's virtualenv out of the jobs, so that a package missing from an env fails its job.

The envs are cached between runs (tests/isolated_envs.py); the first build downloads the
torch env's 3 GB of wheels. envs/mfa.yaml (conda only) is not built: its rule runs against the
stand-in mfa in tests/test_align_mfa.py."""
import os
import subprocess
import sys

import pytest
import yaml

from isolated_envs import build_env, build_env_file, driver_site_packages, fake_conda_environment

from .conftest import REPO, TINY_CONFIG

ENVS = REPO / "envs"
PIP_ENVS = ["audio", "align", "analysis", "torch"]
# The tiny demo, with the randomly initialised tiny AST (the stand-in checkpoint's pretraining
# has its own tests; here each rule needs to run once), and of the explainers one per rule:
# rollout, occlusion, and Integrated Gradients for the gradient rule (it also imports captum).
ISOLATED_CONFIG = {
    **TINY_CONFIG,
    "checkpoint": {"source": "tiny"},
    "explain": {"methods": ["rollout", "phone_occlusion", "integrated_gradients"]},
}


def run_snakemake(workdir, environment, *args):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(ISOLATED_CONFIG, allow_unicode=True))
    command = [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
        "--configfile", str(workdir / "tiny.yaml"), "--sdm", "conda",
        "--conda-prefix", str(workdir / "conda"), *args,
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=environment, timeout=3600)
    done.output = done.stdout + done.stderr
    return done


def job_logs(workdir):
    return "\n".join(p.read_text(errors="replace") for p in (workdir / "results" / "logs").rglob("*.log"))


@pytest.fixture(scope="module")
def envs():
    return {name: build_env_file(ENVS / f"{name}.yaml") for name in PIP_ENVS}


def test_the_guard_refuses_the_drivers_packages_to_the_jobs_code(tmp_path):
    """In an env with nothing but pip, numpy (which the driver has) cannot be imported once the
    driver's site-packages are on sys.path, as Snakemake's preamble puts them; snakemake can,
    with everything it imports itself."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    pip = yaml.safe_load((ENVS / "audio.yaml").read_text())["dependencies"][1].partition("=")[2]
    env = build_env("empty", python, pip, [])
    probe = (
        "import sys; sys.path.extend({paths!r})\n"
        "import snakemake.io\n"
        "try:\n    import numpy\nexcept ModuleNotFoundError as error:\n    print('refused', error.name)\n"
        "else:\n    print('imported numpy from', numpy.__file__)\n"
    ).format(paths=driver_site_packages())
    environment = fake_conda_environment(tmp_path / "links", {})
    done = subprocess.run([str(env / "bin" / "python"), "-c", probe], capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "refused numpy", done.stdout + done.stderr
    assert "'numpy' is not installed in this env" in done.stderr
    # Without the guard's variable the same env imports numpy from the driver: the leak it closes.
    del environment["SVD_EXPLAIN_DRIVER_SITE"]
    done = subprocess.run([str(env / "bin" / "python"), "-c", probe], capture_output=True, text=True, env=environment)
    assert done.stdout.startswith("imported numpy from"), done.stdout + done.stderr


def test_the_workflow_runs_with_each_rule_in_its_own_env(envs, tmp_path):
    workdir = tmp_path / "run"
    environment = fake_conda_environment(tmp_path / "links", {ENVS / f"{n}.yaml": e for n, e in envs.items()})
    done = run_snakemake(workdir, environment, "--cores", str(os.cpu_count() or 2))
    assert done.returncode == 0, done.output[-6000:] + job_logs(workdir)[-6000:]
    results = workdir / "results"
    for path in ["catalog/sessions.parquet", "alignment/failed.tsv", "split/split.parquet",
                 "metrics/summary.tsv", "representations/probes.tsv", "relevance/rollout/phones.tsv",
                 "explanations/deletion.tsv", "explanations/randomisation.tsv"]:
        assert (results / path).is_file(), path
    assert list((results / "figures" / "rollout").glob("*.png"))
    activated = {line.split(":", 1)[1].strip() for line in done.output.splitlines() if "Activating conda environment:" in line}
    assert len(activated) == len(PIP_ENVS), activated
    # The guard also refuses optional imports that packages probe for (and do without); a
    # needed one would have failed its job.
    assert "No module named" not in done.output + job_logs(workdir)


def test_a_package_missing_from_an_env_fails_its_job(envs, tmp_path):
    """The audio env built without soxr: the first job that needs it fails, naming it."""
    broken = build_env_file(ENVS / "audio.yaml", name="audio-without-soxr", drop=("soxr",))
    mapping = {ENVS / f"{n}.yaml": e for n, e in envs.items()}
    mapping[ENVS / "audio.yaml"] = broken
    workdir = tmp_path / "run"
    environment = fake_conda_environment(tmp_path / "links", mapping)
    done = run_snakemake(workdir, environment, "--cores", "1", "results/catalog/sessions.parquet")
    assert done.returncode != 0
    everything = done.output + job_logs(workdir)
    assert "No module named 'soxr'" in everything, everything[-6000:]
    assert "'soxr' is not installed in this env" in everything
