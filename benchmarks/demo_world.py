"""The demo world's known answers, checked on larger demo runs than `make demo` fits in its
minutes: 500 synthetic sessions (about 400 speakers, 41 in the test split) instead of the
default's 200, in three worlds: the default cue (on the phones the study did not single out),
the negative control (perturbation_scale 0: no cue, only the age confound left) and the cue
planted elsewhere (on the study's phones /ɔ eː iː n/).

For each world it runs the workflow (config.yaml as committed, the larger corpus, and the world's change)
up to the metrics, the probes and the explanation checks that can say where the cue is
(localisation, phone occlusion's effects), and prints every model's test AUC with its 95 %
interval beside the age-only baseline's, measured in the same run: the ratio model AUC /
age-only AUC, and whether the model beats the baseline beyond its interval (AUC above the
baseline's upper bound); then per explainer the localisation of the cue (lift, AUC) and the
phones whose occlusion moves ast_finetuned most. The stand-in checkpoint does not depend on the
corpus: it is pretrained once and shared.

`python benchmarks/demo_world.py [--worlds default,no_cue,study_phones] [--sessions 500] [--keep DIR] [--pretext DIR]`"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORLDS = {
    "default": {},
    "no_cue": {"corpus": {"synthetic": {"perturbation_scale": 0.0}}},
    # Of the classical baselines only the one on the AST's own input runs here.
    "study_phones": {"corpus": {"synthetic": {"cue_phones": ["ɔ", "eː", "iː", "n"]}}, "baselines": {"classical": ["logmel_logreg"]}},
}
SESSIONS = 500
TARGETS = [
    "results/metrics/summary.tsv", "results/representations/probes.tsv",
    "results/explanations/localisation.tsv", "results/explanations/phone_effects.tsv",
]


def run_world(workdir, overrides, sessions=SESSIONS, pretext=None):
    """Run the workflow in `workdir` with `overrides` on config.yaml and a corpus of `sessions`
    sessions; returns the seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    world = {**overrides, "corpus": {"synthetic": {"n_sessions": sessions, **overrides.get("corpus", {}).get("synthetic", {})}}}
    (workdir / "world.yaml").write_text(yaml.safe_dump(world, allow_unicode=True))
    if pretext is not None:
        shutil.copytree(pretext, workdir / "results" / "checkpoint" / "pretext")
    start = time.perf_counter()
    command = [
        sys.executable, "-m", "snakemake", *TARGETS, "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
        "--cores", "2", "--configfile", str(workdir / "world.yaml"),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-4000:]}")
    return time.perf_counter() - start


def world_rows(workdir):
    """Test AUC with its interval and train UAR of every model, of the age-only baseline and of
    the classical baselines (logmel_logreg: a linear model on the AST's own input), from
    results/metrics/{name}.json."""
    rows = []
    for path in sorted((workdir / "results" / "metrics").glob("*.json")):
        metrics = json.loads(path.read_text())
        if metrics.get("kind") not in ("ast", "confound", "classical") or path.stem == "sex_only":
            continue
        test, train = metrics["test"], metrics.get("train", {})
        rows.append((path.stem, test["auc"], *test["auc_ci"], train.get("uar", float("nan"))))
    return pd.DataFrame(rows, columns=["model", "auc", "lower", "upper", "train_uar"]).set_index("model")


def print_explanations(workdir):
    """Where each explainer finds the cue, and the phones whose occlusion moves ast_finetuned most."""
    localisation = pd.read_csv(workdir / "results" / "explanations" / "localisation.tsv", sep="\t")
    for row in localisation.itertuples():
        print(f"  localisation {row.method:24s} {row.model:14s} lift {row.lift:5.2f} [{row.lift_low:.2f}, {row.lift_high:.2f}]"
              f"  AUC {row.auc:.3f} [{row.auc_low:.3f}, {row.auc_high:.3f}]  n {row.n}")
    effects = pd.read_csv(workdir / "results" / "explanations" / "phone_effects.tsv", sep="\t")
    top = effects[effects["model"] == "ast_finetuned"].sort_values("rank").head(6)
    print("  phone occlusion, ast_finetuned, largest effects: " + ", ".join(
        f"{r.phone} ({r.word}) {r.mean_effect:+.2f}" for r in top.itertuples()))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worlds", default=",".join(WORLDS))
    parser.add_argument("--sessions", type=int, default=SESSIONS, help="sessions in each world's corpus")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep the results")
    parser.add_argument("--pretext", type=Path, help="a stand-in checkpoint folder to reuse (else the first world's)")
    args = parser.parse_args()
    names = args.worlds.split(",")
    unknown = set(names) - set(WORLDS)
    if unknown:
        sys.exit(f"unknown world(s) {sorted(unknown)}; known: {list(WORLDS)}")
    root = args.keep or Path(tempfile.mkdtemp(prefix="demo-world-"))
    pretext = args.pretext
    for name in names:
        workdir = root / name
        seconds = run_world(workdir, WORLDS[name], args.sessions, pretext)
        pretext = pretext or workdir / "results" / "checkpoint" / "pretext"
        table = world_rows(workdir)
        age = table.loc["age_only"]
        probes = pd.read_csv(workdir / "results" / "representations" / "probes.tsv", sep="\t")
        print(f"\n{name} ({WORLDS[name] or 'config.yaml as committed'}, {args.sessions} sessions): {seconds:.0f} s")
        print(f"  {'model':15s} {'test AUC':>9s} {'95 % interval':>16s} {'/ age-only':>11s} {'train UAR':>10s}  above age-only's upper bound")
        for model, row in table.iterrows():
            beats = "" if model == "age_only" else ("yes" if row["auc"] > age["upper"] else "no")
            print(
                f"  {model:15s} {row['auc']:9.3f}   [{row['lower']:.3f}, {row['upper']:.3f}] "
                f"{row['auc'] / age['auc']:10.2f}x {row['train_uar']:10.3f}  {beats}"
            )
        for row in probes.itertuples():
            print(f"  probe {row.model:13s} {row.target:22s} balanced accuracy {row.balanced_accuracy:.3f} (chance {row.chance_mean:.3f})")
        print_explanations(workdir)
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
