"""Partial reruns on the finished demo: each change reruns what it affects and nothing else.

Every test works on its own copy of the finished demo (mtimes and Snakemake's metadata kept)
and asks Snakemake what it would run (`-n`) and what it sees changed (`--summary`,
`--list-changes input`). Where "what depends on X" has to be known, it is Snakemake's own
answer to `--forcerun X` on the unchanged demo: the plan after the change must be that plan.

The plans are made for every output of the finished demo, named as targets: planned from
`rule all`, a change upstream of a checkpoint (the figure selection) hides from `-n` every
job that the checkpoint's input function would have listed.

`--list-changes params` is not used: in Snakemake 9.27 it lists outputs of every job that has
recorded parameters, changed or not (its ParamsChange union keeps the files of unchanged
ones); `--summary` marks the outputs whose parameters really changed.
"""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import REPO, copy_checkout, snakefile_of

pytestmark = pytest.mark.e2e

RULE_LINE = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
# The per-recording jobs upstream of the steps over all recordings.
PER_RECORDING = {"resample", "align_recording", "voice_features"}
FIGURE_SUFFIXES = {".png", ".pdf"}


def snakemake(workdir, *args):
    command = [
        sys.executable, "-m", "snakemake", *args, "-s", str(snakefile_of(workdir)), "-d", str(workdir),
        "--configfile", str(workdir / "tiny.yaml"), "--cores", "2",
    ]
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=1200)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{output[-6000:]}"
    return output


def summary(workdir):
    """`snakemake --summary` as {output: status}."""
    output = snakemake(workdir, "--summary", "--quiet", "all")
    rows = [line.split("\t") for line in output.splitlines() if line.startswith("results/")]
    return {row[0]: row[4] for row in rows}


def plan(workdir, *args, targets=None):
    """The jobs `snakemake -n` would run to bring `targets` up to date (by default every
    output of the finished demo, listed in its outputs.txt): {(rule, wildcards, outputs)}."""
    if targets is None:
        targets = (workdir / "outputs.txt").read_text().split()
    jobs, current = set(), None
    # Targets first: options such as --forcerun take every word after them.
    for line in snakemake(workdir, *targets, "--dry-run", *args).splitlines() + [""]:
        match = RULE_LINE.match(line)
        if match:
            current = {"rule": match[1], "wildcards": "", "output": ""}
        elif current and line.startswith("    "):
            key, _, value = line.strip().partition(": ")
            if key in ("wildcards", "output"):
                current[key] = value
        elif current:
            outputs = tuple(sorted(current["output"].split(", "))) if current["output"] else ()
            jobs.add((current["rule"], current["wildcards"], outputs))
            current = None
    return {job for job in jobs if job[0] != "all"}


def rules_of(jobs):
    return {rule for rule, _, _ in jobs}


def params_changed(workdir):
    """The outputs whose rule's parameters differ from those they were made with."""
    return {output for output, status in summary(workdir).items() if status == "params changed"}


def input_changed(workdir):
    """Of the outputs in outputs.txt, those whose rule's list of input files differs from the
    one they were made from."""
    targets = (workdir / "outputs.txt").read_text().split()
    output = snakemake(workdir, *targets, "--list-changes", "input", "--quiet", "all")
    return {line.strip() for line in output.splitlines() if line.startswith("results/")}


def set_config(workdir, *keys, value):
    """Set a key of the demo's config, e.g. set_config(w, "figures", "dpi", value=100)."""
    path = workdir / "tiny.yaml"
    config = yaml.safe_load(path.read_text())
    node = config
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    path.write_text(yaml.safe_dump(config, allow_unicode=True))


def list_outputs(workdir):
    """Write every output of the finished workflow in `workdir` to its outputs.txt."""
    outputs = summary(workdir)
    assert set(outputs.values()) == {"ok"}, {o: s for o, s in outputs.items() if s != "ok"}
    (workdir / "outputs.txt").write_text("\n".join(sorted(outputs)))


@pytest.fixture
def demo(finished_demo, tmp_path):
    """A copy of the finished demo (the project: its checkout, results and Snakemake's metadata,
    mtimes kept) that a test may change, with the list of its outputs in outputs.txt."""
    copy = tmp_path / "demo"
    shutil.copytree(finished_demo, copy, symlinks=True)
    list_outputs(copy)
    return copy


def test_a_copy_of_the_finished_demo_has_nothing_to_do(demo):
    assert plan(demo) == set()


def test_finetuned_learning_rate_reruns_its_training_and_what_follows_only(demo):
    forced = plan(demo, "--forcerun", "results/models/ast_finetuned")
    config = yaml.safe_load((demo / "tiny.yaml").read_text())
    set_config(demo, "models", "ast_finetuned", "learning_rate",
               value=config["models"]["ast_finetuned"]["learning_rate"] * 2)

    assert params_changed(demo) == {"results/models/ast_finetuned"}
    planned = plan(demo)
    assert planned == forced
    assert ("train_model", "model=ast_finetuned", ("results/models/ast_finetuned",)) in planned
    # The plan reaches the end of the workflow, not only the next step.
    downstream = {("rollout", "model=ast_finetuned"), ("metrics", "model=ast_finetuned"), ("metrics_summary", "")}
    assert downstream <= {(rule, wildcards) for rule, wildcards, _ in planned}
    untouched = [
        job for job in planned
        if "ast_freeze" in job[1]
        or job[0] in PER_RECORDING | {"synthetic_corpus", "catalog", "split", "base_checkpoint", "align_train"}
    ]
    assert not untouched, untouched


@pytest.mark.parametrize(
    "setting, value", [("width_in", 5.0), ("dpi", 100), ("formats", ["png", "pdf"])]
)
def test_a_figure_setting_reruns_only_figures(demo, setting, value):
    set_config(demo, "figures", setting, value=value)
    # Planned for `rule all`, which asks for the figures in every format configured (the
    # figure selection, a checkpoint, does not change here, so the plan is complete).
    planned = plan(demo, targets=())
    assert "rollout_figure" in rules_of(planned)
    assert params_changed(demo) <= {o for _, _, outputs in planned for o in outputs}
    not_only_figures = sorted(
        f"{rule}({wildcards}): {[o for o in outputs if Path(o).suffix not in FIGURE_SUFFIXES]}"
        for rule, wildcards, outputs in planned
        if any(Path(o).suffix not in FIGURE_SUFFIXES for o in outputs)
    )
    assert not not_only_figures, (
        f"changing figures.{setting} reruns jobs that compute more than figures:\n"
        + "\n".join(not_only_figures)
    )


def test_the_occlusion_fill_reruns_phone_occlusion_only(demo):
    """explain.occlusion_fill reaches phone occlusion's maps and its randomisation check, and
    no other explainer's jobs."""
    set_config(demo, "explain", "occlusion_fill", value="padding")
    expected = {
        f"results/{path}"
        for model in ("ast_freeze", "ast_finetuned")
        for path in (f"maps/phone_occlusion/{model}.npz", f"explanations/occlusion/{model}.parquet",
                     f"explanations/randomisation/phone_occlusion/{model}.tsv")
    }
    assert params_changed(demo) == expected
    other_explainers = [job for job in plan(demo) if "method=" in job[1] and "method=phone_occlusion" not in job[1]]
    assert not other_explainers, other_explainers


def test_the_ig_baseline_reruns_integrated_gradients_only(demo):
    """explain.ig_baseline reaches Integrated Gradients' maps and its randomisation check, and no
    other explainer's jobs."""
    set_config(demo, "explain", "ig_baseline", value="padding")
    expected = {
        f"results/{path}"
        for model in ("ast_freeze", "ast_finetuned")
        for path in (f"maps/integrated_gradients/{model}.npz",
                     f"explanations/randomisation/integrated_gradients/{model}.tsv")
    }
    assert params_changed(demo) == expected
    other_explainers = [job for job in plan(demo) if "method=" in job[1] and "method=integrated_gradients" not in job[1]]
    assert not other_explainers, other_explainers


def test_editing_the_rollout_module_reruns_rollout_and_what_follows_only(demo):
    # The edit happens in the demo's own checkout; it reaches the rules through mtimes (the
    # modules are inputs).
    # The explainers and the randomisation check share rollout.py's token-to-spectrogram mapping
    # (their rules list it), so they rerun with rollout.
    sharing = ("rollout", "explanation_maps", "occlusion_maps", "randomisation")
    forced = plan(demo, "--forcerun", *sharing)

    module = demo / "src" / "svd_explain" / "rollout.py"
    module.write_text(module.read_text() + "\n# edited\n")
    planned = plan(demo)

    assert planned == forced
    assert {job[1] for job in planned if job[0] == "rollout"} == {"model=ast_freeze", "model=ast_finetuned"}
    upstream = {"train_model", "predict", "base_checkpoint", "metrics", "split", "catalog"} | PER_RECORDING
    assert not rules_of(planned) & upstream, sorted(rules_of(planned))


def test_editing_plotting_modules_reruns_only_figure_rules(demo):
    # As for the rollout module: the edit is made in the demo's own checkout.
    package = demo / "src" / "svd_explain"
    plotting = ("metrics_figures", "relevance_figures", "representation_figures", "figures")
    for module in plotting:
        path = package / f"{module}.py"
        path.write_text(path.read_text() + "\n# edited\n")
    planned = plan(demo)
    assert {"metrics_figures", "relevance_phones_figure", "relevance_spread_figure", "relevance_energy_figure",
            "probes_figure", "representations", "rollout_figure"} <= rules_of(planned)
    not_figures = sorted(f"{rule}: {outputs}" for rule, _, outputs in planned
                         if any(Path(o).suffix not in FIGURE_SUFFIXES for o in outputs))
    assert not not_figures, "editing plotting modules reruns jobs that compute more than figures:\n" + "\n".join(not_figures)


def add_recording(demo):
    """A new session in the synthetic corpus: a copy of an existing session's recording (and
    true alignment) under a new session and speaker id, with its row in the session table.
    Returns the new session id."""
    corpus = demo / "results" / "corpus" / "synthetic"
    table = pd.read_csv(corpus / "summary.csv", dtype=str, keep_default_na=False)
    template = table.iloc[0].copy()
    old_id = template["AufnahmeID"]
    new_id = str(max(int(s) for s in table["AufnahmeID"]) + 1)
    files = [p for p in corpus.rglob("*") if p.is_file() and p.name.split("-")[0].split(".")[0] == old_id]
    assert any("phrase" in p.name for p in files), files
    for source in files:
        relative = source.relative_to(corpus)
        target = corpus / Path(*(part.replace(old_id, new_id, 1) for part in relative.parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    template["AufnahmeID"] = new_id
    template["SprecherID"] = str(max(int(s) for s in table["SprecherID"]) + 1)
    pd.concat([table, template.to_frame().T]).to_csv(corpus / "summary.csv", index=False)
    # The corpus folder is a directory output: Snakemake dates it by this file.
    (corpus / ".snakemake_timestamp").touch()
    return new_id


def test_adding_a_recording_runs_its_own_jobs_and_the_steps_over_all(demo):
    # With an aligner trained on the corpus, every alignment would change with the corpus:
    # fix the trained one first, and bring the demo up to date with it.
    model = demo / "aligner"
    shutil.copytree(demo / "results" / "alignment" / "model", model)
    set_config(demo, "align", "kaldi", "model", value=str(model))
    snakemake(demo)
    list_outputs(demo)

    new_id = add_recording(demo)
    # Which recordings exist is known once the catalog (a checkpoint) has run.
    snakemake(demo, "results/catalog/sessions.parquet")
    assert int(new_id) in set(pd.read_parquet(demo / "results" / "catalog" / "sessions.parquet")["session_id"])

    planned = plan(demo)
    per_recording = {(rule, wildcards) for rule, wildcards, _ in planned if rule in PER_RECORDING}
    assert per_recording == {(rule, f"session={new_id}") for rule in PER_RECORDING}
    # The steps over all recordings see one more input file; no per-recording output does.
    changed = input_changed(demo)
    over_all = {"results/checkpoint/base", "results/alignment/failed.tsv", "results/relevance/rollout/phones.tsv"}
    for model in ("ast_freeze", "ast_finetuned"):
        over_all |= {f"results/models/{model}", f"results/maps/rollout/{model}.npz"}
    assert over_all <= changed, sorted(over_all - changed)
    per_recording_outputs = re.compile(r"results/(audio|alignment|alignment/status)/\d+\.(wav|TextGrid|json)")
    assert not {f for f in changed if per_recording_outputs.fullmatch(f)}, sorted(changed)
    assert {"split", "base_checkpoint", "train_model"} <= rules_of(planned)


def test_a_moved_project_plans_nothing(demo, tmp_path):
    # The rules name the checkout's files relative to the working directory, so moving the
    # project (deeper here) changes no input list, and every rerun trigger stays quiet.
    moved = tmp_path / "elsewhere" / "one level deeper" / "project"
    shutil.move(demo, moved)
    assert plan(moved) == set()
    assert input_changed(moved) == set()


def test_a_clone_with_its_results_copied_plans_nothing_once_its_scripts_have_their_commit_times(demo, tmp_path):
    # A clone writes every file of the checkout anew, newer than every output. Snakemake
    # compares the package modules and resources (inputs) by the checksums it recorded, and finds
    # them equal; the entry-point scripts only by mtime: `make restore-mtimes` gives each its
    # commit's time. The clone here: a repository of the demo's own checkout (the code that made
    # the results) whose one commit predates them.
    clone = copy_checkout(tmp_path / "clone", checkout=demo)
    shutil.copy2(REPO / "Makefile", clone / "Makefile")
    git = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
           "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z"}
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-q", "-m", "the workflow"]):
        subprocess.run(command, cwd=clone, env=git, check=True)
    now = time.time()
    for path in clone.rglob("*"):
        os.utime(path, (now, now))
    for part in ("results", ".snakemake"):
        shutil.copytree(demo / part, clone / part, symlinks=True)
    for name in ("tiny.yaml", "outputs.txt"):
        shutil.copy2(demo / name, clone / name)
    assert plan(clone), "a clone with fresh mtimes should replan its script rules"

    subprocess.run(["make", "--no-print-directory", "restore-mtimes"], cwd=clone, check=True)
    assert plan(clone) == set()
