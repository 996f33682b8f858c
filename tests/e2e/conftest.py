"""One finished tiny demo, run with the real snakemake, shared by the end-to-end tests."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# The embedded default, shrunk so that the whole workflow runs in a few minutes on 2 cores.
TINY_CONFIG = {
    "corpus": {"synthetic": {"n_sessions": 40}},
    # The stand-in pretraining at a token size: the rule, the folder and its loading run.
    "checkpoint": {"pretext": {"clips": 32, "dev_clips": 8, "epochs": 1}},
    "align": {"kaldi": {"em_iterations": 10, "split_at": [3, 6], "max_gaussians": 4}},
    "models": {
        "ast_freeze": {"train": "head", "learning_rate": 1.0e-3, "epochs": 3, "patience": 2},
        "ast_finetuned": {"train": "all", "learning_rate": 2.5e-4, "epochs": 2, "patience": 2},
    },
    "training": {"per_device_batch_size": 4, "gradient_accumulation_steps": 1, "logging_steps": 2},
    # min_n 2: the tiny test split (2 of each class) still gets intervals, so that they are exercised.
    "metrics": {"bootstrap": 50, "min_n": 2},
    "figures": {"dpi": 80},
}


# What a clone needs to run the workflow: no tests, benchmarks, virtualenv or results.
WORKFLOW_PARTS = ("Snakefile", "config.yaml", "rules", "workflow", "src", "resources", "envs", "profiles", "report")


def copy_checkout(destination, checkout=REPO):
    """The workflow's files of `checkout` (this one by default) copied into `destination`,
    mtimes kept."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = checkout / part
        if source.is_dir():
            shutil.copytree(source, destination / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / part)
    return destination


def snakefile_of(workdir):
    """A project's own Snakefile (a folder holding a copy of the checkout), else this checkout's."""
    own = workdir / "Snakefile"
    return own if own.exists() else REPO / "Snakefile"


def snakemake(workdir, *args, check=True):
    """Run the workflow in `workdir` with the tiny config; returns the process."""
    command = [
        sys.executable, "-m", "snakemake", "-s", str(snakefile_of(workdir)), "-d", str(workdir),
        "--configfile", str(workdir / "tiny.yaml"), *args,
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result


def new_workdir(path):
    path.mkdir(parents=True, exist_ok=True)
    (path / "tiny.yaml").write_text(yaml.safe_dump(TINY_CONFIG, allow_unicode=True))
    return path


@pytest.fixture(scope="session")
def finished_demo(tmp_path_factory):
    """A project in which the whole tiny demo has run to the end, as a user runs it: a copy of
    the checkout with its results inside, so that the project can be copied or moved whole."""
    workdir = new_workdir(copy_checkout(tmp_path_factory.mktemp("demo")))
    snakemake(workdir, "--cores", str(os.cpu_count() or 2))
    return workdir
