"""The whole workflow on a tiny synthetic corpus, through the real snakemake."""
import pandas as pd
import soundfile

from .conftest import new_workdir, snakemake


def test_catalog_and_audio(finished_demo):
    results = finished_demo / "results"
    sessions = pd.read_parquet(results / "catalog" / "sessions.parquet")
    excluded = pd.read_csv(results / "catalog" / "excluded.tsv", sep="\t")
    summary = pd.read_csv(results / "corpus" / "synthetic" / "summary.csv")
    # Every session of the corpus is either in the catalog or excluded with a reason.
    assert set(sessions["session_id"]) | set(excluded["session_id"]) == set(summary["AufnahmeID"])
    assert excluded["reason"].str.len().gt(0).all()
    assert sessions["speaker_id"].is_unique
    for session in sessions["session_id"]:
        info = soundfile.info(results / "audio" / f"{session}.wav")
        assert (info.samplerate, info.channels) == (16000, 1)


def test_dry_run_plans_the_whole_workflow_on_a_fresh_directory(tmp_path):
    result = snakemake(new_workdir(tmp_path / "fresh"), "-n", "--cores", "2")
    assert "synthetic_corpus" in result.stdout and "catalog" in result.stdout


def test_nothing_left_to_do_after_the_demo(finished_demo):
    result = snakemake(finished_demo, "-n", "--cores", "2")
    assert "Nothing to be done" in result.stdout + result.stderr
