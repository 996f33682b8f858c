"""The demo world through the real snakemake: the planted cues and the stand-in checkpoint are
checked before the first job, and a second run from scratch gives byte-identical cues, stand-in,
models and predictions (CPU)."""
import pandas as pd
import pytest
import yaml

from .conftest import REPO, new_workdir, snakemake


@pytest.mark.parametrize(
    "change, key, says",
    [
        ({"corpus": {"synthetic": {"cue_phones": ["a", "uː"]}}}, "corpus.synthetic.cue_phones",
         "['a'] do not occur in the phrase (its phones: "),
        ({"corpus": {"synthetic": {"cue_phones": ["s"]}}}, "corpus.synthetic.cue_phones", "['s'] are voiceless"),
        ({"checkpoint": {"pretext": {"clips": 40, "dev_clips": 40}}}, "checkpoint.pretext.dev_clips",
         "40 held-out clips of 40 leave none"),
    ],
)
def test_a_bad_cue_or_pretext_setting_stops_before_the_first_job(tmp_path, change, key, says):
    # In the config file, not --config: Snakemake reads the numbers of a --config value as text.
    workdir = new_workdir(tmp_path / "cfg")
    config = yaml.safe_load((workdir / "tiny.yaml").read_text(encoding="utf-8"))
    for section, values in change.items():
        config[section] = {**config.get(section, {}), **values}
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = snakemake(workdir, "-n", check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    line = next((line for line in message.splitlines() if line.startswith(f"config {key}:")), "")
    assert says in line, message[-2000:]
    assert not (workdir / "results").exists()


REPRODUCED = [
    "corpus/cues.parquet",
    "checkpoint/pretext/model.safetensors",
    "checkpoint/pretext/history.tsv",
    "models/ast_freeze/model.safetensors",
    "models/ast_finetuned/model.safetensors",
    "predictions/ast_freeze.parquet",
    "predictions/ast_finetuned.parquet",
    "embeddings/ast_finetuned.parquet",
]


def test_a_second_run_from_scratch_is_byte_identical(finished_demo, tmp_path):
    again = new_workdir(tmp_path / "again")
    targets = [f"results/{path}" for path in REPRODUCED if path.startswith(("predictions", "embeddings"))]
    snakemake(again, "--cores", "2", *targets, "results/corpus/cues.parquet")
    for path in REPRODUCED:
        assert (again / "results" / path).read_bytes() == (finished_demo / "results" / path).read_bytes(), path


def test_the_tiny_demo_plants_its_cue_where_the_truth_says(finished_demo):
    results = finished_demo / "results"
    cues = pd.read_parquet(results / "corpus" / "cues.parquet")
    catalog = pd.read_parquet(results / "catalog" / "sessions.parquet")
    assert set(catalog["session_id"]) <= set(cues["session_id"])
    default = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))["corpus"]["synthetic"]["cue_phones"]
    assert set(cues["phone"]) == set(default)
    planted = cues.groupby("session_id")["planted"].first()
    pathological = catalog.set_index("session_id")["status"].eq("pathological")
    assert planted.reindex(pathological.index).eq(pathological).all()
    assert (results / "checkpoint" / "pretext" / "learning_curve.png").stat().st_size > 10_000
