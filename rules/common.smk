# Shared helpers for the rules: paths, the code each rule depends on, and the session lists
# that come out of the catalog checkpoint.
import functools
from dataclasses import dataclass, field
import importlib.util
import os
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.settings.types import DeploymentMethod

import pandas as pd

RESULTS = config["results"]


wildcard_constraints:
    session=r"\d+",


BASE = Path(workflow.basedir)
SRC = BASE / "src"
PACKAGE = SRC / "svd_explain"

# Every job (local, conda or SLURM) imports the project's package from this checkout.
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p))

# The per-recording rules run their entry point (input `entry`, in SCRIPTS) as a plain
# command, not with script:, whose preamble imports Snakemake into every job: about 80 ms of CPU
# per job, as much as resampling one recording (benchmarks/workflow_scale.py). The command's
# Python ($SVD_EXPLAIN_PYTHON) is the env's under --sdm conda, else the one running Snakemake
# (not always on the PATH). An environment variable, not a parameter: where the interpreter lives
# must not rerun every recording's job.
SCRIPTS = ("workflow", "scripts")
os.environ.update(
    SVD_EXPLAIN_PYTHON=(
        "python" if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method else sys.executable
    )
)


def checkout_file(*parts):
    """A file of this checkout (its resources, entry points, package modules) as the rules name
    it: relative to the working directory, so that a project moved or cloned together with its
    results and .snakemake/ keeps the input lists it was run with (tests/e2e/test_reruns.py)."""
    return os.path.relpath(BASE.joinpath(*parts))


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
            paths.extend(sorted(checkout_file(p) for p in path.rglob("*.py")))
        else:
            paths.append(checkout_file(path.with_suffix(".py")))
    return paths


@functools.lru_cache(maxsize=8)
def _read_table(path, mtime):
    return pd.read_csv(path, sep="\t") if path.endswith(".tsv") else pd.read_parquet(path)


def read_table(path):
    """A Parquet or TSV table written by an earlier job, read again only when it changes."""
    return _read_table(path, os.path.getmtime(path))


def catalog_table():
    """The catalog as a table; only valid after the catalog checkpoint ran."""
    return read_table(checkpoints.catalog.get().output.sessions)


def session_ids():
    return [str(s) for s in catalog_table()["session_id"]]


@functools.lru_cache(maxsize=8)
def _catalog_rows(path, mtime):
    table = _read_table(path, mtime)
    return dict(zip(table["session_id"].astype(str), table.to_dict("records")))


def catalog_row(wildcards):
    """The session's catalog row as a dict: a lookup, not a scan, since per-recording jobs ask
    for it (thousands of times per run)."""
    path = checkpoints.catalog.get().output.sessions
    row = _catalog_rows(path, os.path.getmtime(path)).get(wildcards.session)
    if row is None:
        raise ValueError(f"session {wildcards.session} is not in the catalog")
    return row


def raw_recording(wildcards):
    return catalog_row(wildcards)["source"]


def rebuild_nsp_sizes(wildcards):
    """Whether the recording is one of the archive's incomplete NSP files (catalog `repair`)."""
    return catalog_row(wildcards)["repair"] == "incomplete_nsp"


def all_recordings(wildcards):
    """Every recording's 16 kHz audio (after the catalog checkpoint)."""
    return expand(R("audio", "{session}.wav"), session=session_ids())


MODELS = list(config["models"])
# Model names only, so that {model}.json never matches summary or baselines.
MODEL_PATTERN = "|".join(MODELS)

# The baselines scored beside the models (src/svd_explain/baselines.py, whose BASELINES these
# names and feature sets repeat, so that parsing needs no scikit-learn; a test checks they
# agree): the confound baselines always, the classical ones that config["baselines"] lists.
CONFOUND_BASELINES = ["age_only", "sex_only"]
CLASSICAL_FEATURES = {
    "egemaps_svm": "egemaps",
    "egemaps_logreg": "egemaps",
    "praat_logreg": "praat",
    "logmel_logreg": "logmel",
}
CLASSICAL_BASELINES = list(config["baselines"]["classical"])
BASELINES = CONFOUND_BASELINES + CLASSICAL_BASELINES
BASELINE_PATTERN = "|".join(BASELINES)
_clashes = sorted(set(MODELS) & set(BASELINES))
if _clashes:
    raise ValueError(f"models: the name(s) {_clashes} are taken by the baselines; rename the model(s)")
# Everything the metrics, the summary and the comparisons score, and what kind each is.
EVALUATED = MODELS + BASELINES
EVALUATED_PATTERN = "|".join(EVALUATED)
KINDS = {
    **dict.fromkeys(MODELS, "ast"),
    **dict.fromkeys(CONFOUND_BASELINES, "confound"),
    **dict.fromkeys(CLASSICAL_BASELINES, "classical"),
}
FEATURE_SETS = sorted({CLASSICAL_FEATURES[name] for name in CLASSICAL_BASELINES})


# The two models the cases compare (the study's pair); other models get metrics and probes only.
# The split's shares of speakers (train, dev, test), as the split rule and its captions use them.
SPLIT_SHARES = [config["split"]["train"], config["split"]["dev"], config["split"]["test"]]

CASE_MODELS = {
    "freeze": config["cases"]["freeze"],
    "finetuned": config["cases"]["finetuned"],
}
HAS_CASE_MODELS = all(model in MODELS for model in CASE_MODELS.values())
if not HAS_CASE_MODELS:
    logger.warning(
        f"No cases (results/cases.tsv): the models {sorted(CASE_MODELS.values())} are not all in "
        f"config['models'] ({MODELS}); the cases rule is skipped."
    )


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
        *explanation_targets(),
        *table_view_targets(),
    ]


# --- per-stage inputs and targets (functions live here, rules in the stage files) ---


def corpus_root():
    if config["corpus"]["source"] == "synthetic":
        return R("corpus", "synthetic")
    if not config["corpus"]["root"]:
        raise ValueError("corpus.root must name the SVD download when corpus.source is svd")
    return config["corpus"]["root"]


def session_table():
    """The session table in the official column format."""
    if config["corpus"]["source"] == "synthetic":
        return R("corpus", "synthetic", "summary.csv")
    if config["corpus"]["metadata"]:
        return config["corpus"]["metadata"]
    # The official table shipped inside the sbvoicedb package (found without importing it).
    return str(Path(importlib.util.find_spec("sbvoicedb").origin).with_name("summary.csv"))


def catalog_inputs(wildcards):
    inputs = {
        "categories": checkout_file("resources", "pathology_categories.tsv"),
        "defects": checkout_file("resources", "svd_known_defects.tsv"),
    }
    if config["corpus"]["source"] == "synthetic":
        inputs["corpus"] = corpus_root()
    else:
        inputs["metadata"] = session_table()
    return inputs


def alignment_statuses(wildcards):
    return expand(R("alignment", "status", "{session}.json"), session=session_ids())


# A GPU is requested (on a cluster) only when the config lets training use one.
GPUS = 1 if config["training"]["device"] == "auto" else 0


# What the base checkpoint starts from: "tiny" (random weights), the pretext checkpoint this
# workflow pretrains (a folder under results/), or the user's folder or Hugging Face name.
CHECKPOINT_SOURCE = (
    R("checkpoint", "pretext") if config["checkpoint"]["source"] == "pretext" else config["checkpoint"]["source"]
)


def checkpoint_source(wildcards):
    """The files of a local checkpoint folder, so that replacing them rebuilds the base (the
    pretext folder itself, which the pretext_checkpoint rule builds)."""
    if config["checkpoint"]["source"] == "pretext":
        return [CHECKPOINT_SOURCE]
    source = Path(config["checkpoint"]["source"])
    if config["checkpoint"]["source"] != "tiny" and source.is_dir():
        return sorted(str(p) for p in source.iterdir() if p.is_file())
    return []


def baseline_inputs(wildcards):
    """A baseline's input: the catalog (age, sex) or its feature table."""
    if wildcards.baseline in CONFOUND_BASELINES:
        return {"catalog": R("catalog", "sessions.parquet")}
    return {"features": R("features", f"{CLASSICAL_FEATURES[wildcards.baseline]}.parquet")}


def all_feature_recordings(wildcards):
    """Every recording's classical voice features (after the catalog checkpoint)."""
    return expand(R("features", "recordings", "{session}.json"), session=session_ids())


def evaluate_targets():
    """Every output of this stage, for `rule all`."""
    return [
        *expand(R("features", "{feature_set}.parquet"), feature_set=FEATURE_SETS),
        *expand(R("metrics", "{model}.json"), model=EVALUATED),
        R("metrics", "summary.tsv"),
        R("metrics", "comparisons.tsv"),
        R("figures", "metrics", "roc.png"),
        R("figures", "metrics", "confusion.png"),
        *expand(R("figures", "representations", "{model}.png"), model=MODELS),
        R("representations", "probes.tsv"),
        R("representations", "probes.png"),
        *([R("cases.tsv")] if HAS_CASE_MODELS else []),
    ]


# The study pair, drawn side by side and compared: the models the cases compare.
FIGURE_MODELS = [CASE_MODELS["freeze"], CASE_MODELS["finetuned"]]


def figure_case(wildcards):
    """The report subcategory of a recording's figure: its case (the caption explains them)."""
    path = R("cases.tsv")
    cases = read_table(path).set_index("session_id")["case"]
    return f"case {cases[int(wildcards.session)]}"


def figure_outputs():
    png = report(
        R("figures", "rollout", "{session}.png"),
        caption="../report/rollout_figure.rst",
        category="Relevance maps by case",
        subcategory=figure_case,
        labels={"session": "{session}", "models": " | ".join(FIGURE_MODELS)},
    )
    pdf = [R("figures", "rollout", "{session}.pdf")] if "pdf" in config["figures"]["formats"] else []
    return [png, *pdf]


def explanation_targets():
    """Every output of the explainers' maps, the relevance statistics and the explanation
    checks, for `rule all`."""
    targets = [
        *expand(R("maps", "{method}", "{model}.npz"), method=EXPLAIN_METHODS, model=MODELS),
        *expand(R("relevance", "{method}", "{table}.tsv"), method=EXPLAIN_METHODS, table=("phones", "energy")),
        *expand(
            R("figures", "relevance", "{method}", "{figure}.png"), method=EXPLAIN_METHODS, figure=("phones", "energy")
        ),
        *expand(R("explanations", "{check}.tsv"), check=explanation_checks()),
        *expand(R("figures", "explanations", "{check}.png"), check=explanation_checks()),
    ]
    if not HAS_CASE_MODELS:  # evaluate.smk has warned: no pair to compare
        return targets
    return [
        *targets,
        *expand(R("relevance", "{method}", "spread.tsv"), method=EXPLAIN_METHODS),
        *expand(R("figures", "relevance", "{method}", "spread.png"), method=EXPLAIN_METHODS),
    ]


def figure_targets(wildcards):
    """The per-recording figures, for `rule all`. Their list comes from a checkpoint, so this is
    an input function of its own: while the checkpoint is still to run, Snakemake leaves out
    only these files and plans everything else."""
    if not HAS_CASE_MODELS:  # no cases, so no figures
        return []
    selection = checkpoints.figure_selection.get().output[0]
    sessions = read_table(selection)["session_id"]
    formats = config["figures"]["formats"]
    return [
        *expand(R("figures", "rollout", "{session}.{ext}"), session=sessions, ext=formats),
        *(
            expand(R("figures", "explanations", "{session}.{ext}"), session=sessions, ext=formats)
            if len(EXPLAIN_METHODS) > 1
            else []
        ),
    ]


# --- explainers and their checks (rules/explanations.smk) ---

EXPLAIN_METHODS = list(config["explain"]["methods"])
# The explainers the explanation_maps rule computes; rollout and phone occlusion have their own.
GRADIENT_METHODS = [m for m in EXPLAIN_METHODS if m not in ("rollout", "phone_occlusion")]
# The method wildcard of explanation_maps: with no gradient method configured it must match
# nothing (an empty pattern would match rollout's maps too, and clash with the rollout rule).
GRADIENT_PATTERN = "|".join(GRADIENT_METHODS) or "(?!)"


wildcard_constraints:
    method="|".join(EXPLAIN_METHODS),


def explanation_checks():
    """The checks the configuration asks for: localisation needs the synthetic corpus's planted
    cues, phone effects the phone occlusion."""
    checks = ["deletion", "randomisation"]
    if config["corpus"]["source"] == "synthetic":
        checks.insert(0, "localisation")
    if "phone_occlusion" in EXPLAIN_METHODS:
        checks.append("phone_effects")
    return checks


def check_table(wildcards):
    """The table a check's figure is drawn from."""
    return {
        "localisation": R("explanations", "localisation.tsv"),
        "deletion": R("explanations", "deletion.parquet"),
        "randomisation": R("explanations", "randomisation.tsv"),
        "phone_effects": R("explanations", "phone_effects.tsv"),
    }[wildcards.check]


def explanations_figure_outputs():
    png = report(
        R("figures", "explanations", "{session}.png"),
        caption="../report/explanations_figure.rst",
        category="Relevance maps of every explainer",
        subcategory=figure_case,
        labels={"session": "{session}", "models": " | ".join(FIGURE_MODELS)},
    )
    pdf = [R("figures", "explanations", "{session}.pdf")] if "pdf" in config["figures"]["formats"] else []
    return [png, *pdf]


def all_alignments(wildcards):
    return {
        "alignments": expand(R("alignment", "{session}.TextGrid"), session=session_ids()),
        "statuses": expand(R("alignment", "status", "{session}.json"), session=session_ids()),
    }


# --- the tables' views in the report (rules/report.smk) ---


@dataclass
class TableView:
    name: str
    table: str  # the TSV, or the folder holding it (then `member` names it)
    caption: str
    category: str
    labels: dict
    title: str
    member: str = ""
    # A figure in the same folder drawn from the table, shown above it (a learning curve).
    image_member: str = ""
    # The values its caption shows (as the producing rule's params are named there).
    caption_params: dict = field(default_factory=dict)
    # Wildcard values the view is made for, and whether this run makes the table at all.
    expand: dict = field(default_factory=dict)
    when: bool = True

    @property
    def html(self):
        """results/views/ and the table's path under results/, as .html: beside it, a view of
        a file inside a model folder would be inside another rule's output."""
        path = Path(self.table, self.member) if self.member else Path(self.table)
        return R("views", str(path.relative_to(RESULTS).with_suffix(".html")))

    @property
    def log(self):
        wildcards = "".join(f"_{{{name}}}" for name in self.expand)
        return R("logs", "views", f"{self.name}{wildcards}.log")


def table_view_targets():
    """The views of every table this run makes, for `rule all`."""
    return [path for view in TABLE_VIEWS if view.when for path in expand(view.html, **view.expand)]
