"""A corpus with every kind of bad input runs end to end: each bad item is excluded with its
reason, convertible ones are converted, and the valid items are unaffected."""
import numpy as np
import pandas as pd
import pytest
import soundfile
import soxr
import yaml

from svd_explain.catalog import build_catalog
from svd_explain.synth.corpus import write_corpus

from .conftest import new_workdir, snakemake

RATE = 50000


def single_session_speakers(summary):
    counts = summary["SprecherID"].value_counts()
    return [s for s, speaker in zip(summary["AufnahmeID"], summary["SprecherID"]) if counts[speaker] == 1]


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory):
    """A synthetic corpus in the flat layout, damaged in every way the issue lists."""
    root = tmp_path_factory.mktemp("bad") / "raw"
    write_corpus(root, n_sessions=48, layout="flat", seed=7, perturbation_scale=1.0)
    clean = root.parent / "clean.csv"
    summary = pd.read_csv(root / "summary.csv", dtype=str, keep_default_na=False)
    summary.to_csv(clean, index=False)
    singles = iter(single_session_speakers(summary))

    def voice(session):
        samples, _ = soundfile.read(root / f"{session}-phrase.wav")
        return samples

    converted = {}
    for kind in ["stereo", "PCM_U8", "PCM_24", "PCM_32", "FLOAT", "8000", "96000", "clipped"]:
        session = next(singles)
        path, samples = root / f"{session}-phrase.wav", voice(session)
        if kind == "stereo":
            soundfile.write(path, np.stack([samples, samples], axis=1), RATE, subtype="PCM_16")
        elif kind.isdigit():
            soundfile.write(path, soxr.resample(samples, RATE, int(kind)), int(kind), subtype="PCM_16")
        elif kind == "clipped":
            soundfile.write(path, np.clip(samples * 8, -1, 1), RATE, subtype="PCM_16")
        else:
            soundfile.write(path, samples, RATE, subtype=kind)
        converted[session] = kind

    bad = {}
    for kind, reason in [
        ("empty", "empty file"),
        ("truncated", "corrupt"),
        ("corrupt_nsp", "corrupt NSP"),
        ("zero_length", "zero-length"),
        ("silent", "silent"),
        ("nan", "NaN"),
        ("inf", "NaN or infinite"),
        ("short", "too short"),
        ("long", "too long"),
    ]:
        session = next(singles)
        path = root / f"{session}-phrase.wav"
        samples = voice(session)
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "truncated":
            path.write_bytes(path.read_bytes()[:40])
        elif kind == "corrupt_nsp":
            path.unlink()
            (root / f"{session}-phrase.nsp").write_bytes(b"FORMDS16" + bytes(range(256)) * 4)
        elif kind == "zero_length":
            soundfile.write(path, np.zeros(0), RATE, subtype="PCM_16")
        elif kind == "silent":
            soundfile.write(path, np.zeros_like(samples), RATE, subtype="PCM_16")
        elif kind in ("nan", "inf"):
            samples[1000:1010] = np.nan if kind == "nan" else np.inf
            soundfile.write(path, samples, RATE, subtype="FLOAT")
        elif kind == "short":
            soundfile.write(path, samples[: int(0.3 * RATE)], RATE, subtype="PCM_16")
        elif kind == "long":
            soundfile.write(path, np.tile(samples, 12)[: 31 * RATE], RATE, subtype="PCM_16")
        bad[session] = reason

    # Bad metadata: extra sessions whose audio is a (quieter) copy of a valid recording.
    donor = voice(next(singles))
    base = summary.iloc[0].to_dict()

    def extra(session, speaker, **fields):
        soundfile.write(root / f"{session}-phrase.wav", donor * 0.5, RATE, subtype="PCM_16")
        return {**base, "AufnahmeID": str(session), "SprecherID": str(speaker), "AufnahmeTyp": "n",
                "Pathologien": "", "Diagnose": "", **fields}

    rows = [
        extra(9001, 9001, AufnahmeTyp="p", Pathologien="Stimmbandentzündung"),
        extra(9002, 9002, Geschlecht=""),
        extra(9003, 9003, Geburtsdatum="", AufnahmeDatum=""),
        extra(9004, 9004), extra(9004, 9005),
        extra(9006, 9006, AufnahmeDatum="2001-01-01"),
        extra(9007, 9006, AufnahmeTyp="p", Pathologien="Laryngitis", AufnahmeDatum="2003-01-01"),
        extra(9008, 9008, AufnahmeTyp="p", Pathologien="Reinke Oedem"),
        extra(9009, 9009, AufnahmeTyp="p", Pathologien="gastric reflux"),
        extra(9010, 9010),
    ]
    bad.update({
        "9001": "unknown pathology label 'Stimmbandentzündung'",
        "9002": "sex missing",
        "9004": "more than once",
        "9007": "later session of speaker 9006",
        "9010": "leaves the data root",
    })
    damaged = pd.concat([summary, pd.DataFrame(rows)], ignore_index=True)
    damaged["file"] = [
        f"{s}-phrase.nsp" if (root / f"{s}-phrase.nsp").exists() else f"{s}-phrase.wav" for s in damaged["AufnahmeID"]
    ]
    damaged.loc[damaged["AufnahmeID"] == "9010", "file"] = "../clean.csv"
    damaged.to_csv(root / "summary.csv", index=False)
    return root, clean, converted, bad


def run_on(corpus_root, workdir, **overrides):
    workdir = new_workdir(workdir)
    config = yaml.safe_load((workdir / "tiny.yaml").read_text())
    config["corpus"] = {"source": "svd", "root": str(corpus_root), "metadata": str(corpus_root / "summary.csv")}
    config.update(overrides)
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    return workdir


def test_bad_corpus_runs_end_to_end_with_every_exclusion_explained(bad_corpus, tmp_path):
    root, clean, converted, bad = bad_corpus
    # Rollout alone of the explainers: what is checked here ends with the predictions.
    workdir = run_on(root, tmp_path / "run", explain={"methods": ["rollout"]})
    snakemake(workdir, "--cores", "2")
    results = workdir / "results"
    sessions = pd.read_parquet(results / "catalog" / "sessions.parquet")
    excluded = pd.read_csv(results / "catalog" / "excluded.tsv", sep="\t", dtype=str)
    why = excluded.groupby("session_id")["reason"].apply(" | ".join).to_dict()
    for session, reason in bad.items():
        assert reason in why.get(session, ""), (session, reason, why.get(session))
    kept = set(sessions["session_id"].astype(str))
    assert not kept & set(bad)
    # Converted inputs stay, as 16 kHz mono, and keep their source format in the catalog.
    assert set(converted) <= kept
    by_id = sessions.set_index(sessions["session_id"].astype(str))
    assert by_id.loc[[s for s, k in converted.items() if k == "stereo"], "channels"].tolist() == [2]
    assert sorted(by_id.loc[[s for s, k in converted.items() if k.isdigit()], "sample_rate"]) == [8000, 96000]
    assert by_id.loc[[s for s, k in converted.items() if k == "clipped"], "clipped_share"].iloc[0] > 0.01
    for session in converted:
        info = soundfile.info(results / "audio" / f"{session}.wav")
        assert (info.samplerate, info.channels) == (16000, 1)
    # Umlaut-free and English spellings are mapped through the table, not guessed.
    assert by_id.loc["9008", "pathologies"].tolist() == ["Reinke Ödem"]
    assert by_id.loc["9009", "pathologies"].tolist() == ["GERD"]
    assert np.isnan(by_id.loc["9003", "age"])
    # Every metadata row is accounted for.
    listed = set(pd.read_csv(root / "summary.csv", dtype=str)["AufnahmeID"])
    assert listed == kept | set(excluded["session_id"])
    # The valid, untouched recordings get exactly the catalog rows they get in a clean corpus.
    clean_sessions, _ = build_catalog(clean, root, tmp_path / "clean.parquet", tmp_path / "clean.tsv")
    untouched = clean_sessions.loc[~clean_sessions["session_id"].astype(str).isin(set(converted) | set(bad))]
    columns = ["session_id", "speaker_id", "sex", "age", "status", "category", "duration_s", "sample_rate"]
    pd.testing.assert_frame_equal(
        untouched[columns].reset_index(drop=True),
        sessions.loc[sessions["session_id"].isin(untouched["session_id"]), columns].reset_index(drop=True),
    )
    # The run went all the way: predictions for every kept session.
    predictions = pd.read_parquet(results / "predictions" / "ast_finetuned.parquet")
    assert set(predictions["session_id"]) == set(sessions["session_id"])


def test_fail_mode_stops_with_the_first_bad_item(bad_corpus, tmp_path):
    root, *_ = bad_corpus
    workdir = run_on(root, tmp_path / "fail", catalog={"on_bad_input": "fail"})
    result = snakemake(workdir, "--cores", "1", "results/catalog/sessions.parquet", check=False)
    assert result.returncode != 0
    log = (workdir / "results" / "logs" / "catalog.log").read_text()
    assert "catalog.on_bad_input = fail" in log


def test_missing_metadata_columns_are_named(bad_corpus, tmp_path):
    root, *_ = bad_corpus
    broken = tmp_path / "broken"
    broken.mkdir()
    pd.read_csv(root / "summary.csv", dtype=str).drop(columns=["Geburtsdatum"]).to_csv(broken / "summary.csv", index=False)
    workdir = run_on(root, tmp_path / "cols")
    config = yaml.safe_load((workdir / "tiny.yaml").read_text())
    config["corpus"]["metadata"] = str(broken / "summary.csv")
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    result = snakemake(workdir, "--cores", "1", "results/catalog/sessions.parquet", check=False)
    assert result.returncode != 0
    # Caught when the Snakefile is read, before the catalog job starts.
    message = result.stdout + result.stderr
    assert "config corpus.metadata:" in message and "lacks the column(s) Geburtsdatum" in message, message[-2000:]
    assert not (workdir / "results" / "logs" / "catalog.log").exists()


@pytest.mark.parametrize(
    "override, key, allowed",
    [
        ("align={backend: hmm}", "config align.backend: 'hmm'", "kaldi, mfa"),
        ("catalog={on_bad_input: skip}", "config catalog.on_bad_input: 'skip'", "exclude, fail"),
        ("rollout={head_fusion: median}", "config rollout.head_fusion: 'median'", "mean, max, min"),
        ("figures={formats: [svg]}", "config figures.formats.0: 'svg'", "png, pdf"),
    ],
)
def test_invalid_config_values_name_the_key_and_the_allowed_values(tmp_path, override, key, allowed):
    result = snakemake(new_workdir(tmp_path / "cfg"), "-n", "--config", override, check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    line = next((line for line in message.splitlines() if line.startswith("config ")), "")
    assert line.startswith(key) and allowed in line, message[-2000:]
    assert "Failed validating" not in message
