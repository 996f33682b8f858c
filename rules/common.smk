# Shared helpers for the rules: paths, the code each rule depends on, and the session lists
# that come out of the catalog checkpoint.
import functools
import os
from pathlib import Path

import pandas as pd

RESULTS = config["results"]

wildcard_constraints:
    session=r"\d+",

BASE = Path(workflow.basedir)
SRC = BASE / "src"
PACKAGE = SRC / "svd_explain"

# Every job (local, conda or SLURM) imports the project's package from this checkout.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p
)


def R(*parts):
    """A path under the results folder."""
    return str(Path(RESULTS, *parts))


def code(*modules):
    """The package modules a rule runs, as inputs, so that editing one reruns its rules.

    `modules` are dotted names below svd_explain ("catalog", "align.kaldi") or a subpackage
    ("synth"), which stands for all of its files."""
    paths = []
    for module in ("__init__", "logs") + modules:
        path = PACKAGE.joinpath(*module.split("."))
        if path.is_dir():
            paths.extend(sorted(str(p) for p in path.rglob("*.py")))
        else:
            paths.append(str(path.with_suffix(".py")))
    return paths


@functools.lru_cache(maxsize=8)
def _read_table(path, mtime):
    return pd.read_parquet(path)


def catalog_table():
    """The catalog as a table; only valid after the catalog checkpoint ran."""
    path = checkpoints.catalog.get().output.sessions
    return _read_table(path, os.path.getmtime(path))


def split_table():
    path = R("split", "split.parquet")
    return _read_table(path, os.path.getmtime(path))


def session_ids():
    return [str(s) for s in catalog_table()["session_id"]]


def raw_recording(wildcards):
    table = catalog_table()
    row = table.loc[table["session_id"].astype(str) == wildcards.session]
    if row.empty:
        raise ValueError(f"session {wildcards.session} is not in the catalog")
    return row["source"].iloc[0]


def all_recordings(wildcards):
    """Every recording's 16 kHz audio (after the catalog checkpoint)."""
    return expand(R("audio", "{session}.wav"), session=session_ids())


MODELS = list(config["models"])


def final_targets(wildcards):
    """Everything `snakemake` builds by default, stage by stage."""
    synthetic = config["corpus"]["source"] == "synthetic"
    sessions = session_ids()
    return [
        *([R("figures", "corpus", "examples.png")] if synthetic else []),
        R("catalog", "sessions.parquet"),
        *expand(R("audio", "{session}.wav"), session=sessions),
        *expand(R("alignment", "{session}.TextGrid"), session=sessions),
        R("alignment", "failed.tsv"),
        *([R("alignment", "accuracy.tsv"), R("figures", "alignment", "boundaries.png")] if synthetic else []),
        R("split", "split.parquet"),
        *expand(R("predictions", "{model}.parquet"), model=MODELS),
        *evaluate_targets(),
        *figures_targets(),
    ]
