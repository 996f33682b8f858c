"""Parse-time checks of the configuration (svd_explain.config_checks): each error is one line
that names the key, its value and the fix, and the real snakemake stops on it in seconds,
before any job."""
import copy
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
import yaml

from svd_explain import config_checks
from svd_explain.config_checks import ConfigError, check_config, validate

ROOT = Path(__file__).resolve().parents[1]
FAKE_MFA = ROOT / "tests" / "fake_mfa" / "mfa"
SUMMARY = "AufnahmeID,AufnahmeTyp,AufnahmeDatum,Diagnose,SprecherID,Geburtsdatum,Geschlecht,Pathologien\n"


def default_config():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    validate(config)
    return config


def svd_config(root, metadata=None, **changes):
    config = default_config()
    config["corpus"].update(source="svd", root=str(root), metadata=str(metadata) if metadata else None)
    for key, value in changes.items():
        section, _, name = key.partition("__")
        config[section][name] = value
    return config


def flat_corpus(folder, sessions=(1, 2)):
    folder.mkdir(parents=True, exist_ok=True)
    for session in sessions:
        soundfile.write(folder / f"{session}-phrase.wav", np.zeros(800), 16000)
    return folder


def session_table(path, speakers=40):
    rows = [f"{i},n,2000-01-01,,{i},1970-01-01,w,\n" for i in range(1, speakers + 1)]
    path.write_text(SUMMARY + "".join(rows), encoding="utf-8")
    return path


def errors(problems):
    return [str(p) for p in problems if not p.warning]


def warnings(problems):
    return [str(p) for p in problems if p.warning]


def one_error(problems, key):
    found = errors(problems)
    assert len(found) == 1, found
    assert found[0].startswith(f"config {key}: "), found[0]
    assert "\n" not in found[0]
    return found[0]


# -- the schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, key, words",
    [
        ({"sourc": 1}, "sourc", ["unknown key", "corpus", "split"]),
        ({"corpus": {"sourc": "svd"}}, "corpus.sourc", ["unknown key", "in corpus", "source"]),
        ({"corpus": {"source": "real"}}, "corpus.source", ["'real'", "synthetic, svd"]),
        ({"checkpoint": {"max_length": 5000}}, "checkpoint.max_length", ["5000", "auto or an integer", "1024"]),
        ({"models": {"ast_x": {"train": "head"}}}, "models.ast_x", ["learning_rate", "required"]),
        ({"figures": {"formats": ["pdf"]}}, "figures.formats", ["must include", "png"]),
        ({"seed": -1}, "seed", ["-1", "minimum"]),
    ],
)
def test_a_schema_error_is_one_line_with_the_key_path(change, key, words):
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for section, value in change.items():
        if isinstance(value, dict) and isinstance(config.get(section), dict):
            config[section].update(value)
        else:
            config[section] = value
    with pytest.raises(ConfigError) as raised:
        validate(config)
    message = str(raised.value)
    assert message.startswith(f"config {key}: ") and "\n" not in message, message
    assert len(message) < 400 and "Failed validating" not in message and "'properties'" not in message
    for word in words:
        assert word in message, message


def test_an_overlay_drops_a_model_by_setting_it_to_null():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["models"]["ast_freeze"] = None
    validate(config)
    assert list(config["models"]) == ["ast_finetuned"]
    config["models"] = {"ast_finetuned": None}
    with pytest.raises(ConfigError, match="^config models: "):
        validate(config)


def test_validate_fills_in_defaults():
    config = {"corpus": {"source": "synthetic"}}
    validate(config)
    assert config["split"] == {"train": 0.8, "dev": 0.1, "test": 0.1}
    assert config["catalog"]["min_duration_s"] == 0.5


# -- values that must agree ---------------------------------------------------------------------


def test_the_default_config_has_no_errors(tmp_path):
    assert errors(check_config(default_config(), tmp_path)) == []


def test_split_shares_must_sum_to_one(tmp_path):
    config = default_config()
    config["split"].update(train=0.7, dev=0.1, test=0.1)
    message = one_error(check_config(config, tmp_path), "split")
    assert "train 0.7 + dev 0.1 + test 0.1 = 0.9" in message and "must sum to 1" in message


def test_duration_bounds_must_be_ordered(tmp_path):
    config = default_config()
    config["catalog"].update(min_duration_s=5.0, max_duration_s=2.0)
    message = one_error(check_config(config, tmp_path), "catalog.min_duration_s")
    assert "5.0 is not below catalog.max_duration_s = 2.0" in message and "set min_duration_s below" in message


@pytest.mark.parametrize(
    "cue_phones, words",
    [(["a", "uː"], "['a'] do not occur in the phrase (its phones: "), (["s"], "['s'] are voiceless"),
     ([], "cue_phones is empty"), ("some", "must be 'all' or a list of phones")],
)
def test_cue_phones_must_be_voiced_phones_of_the_phrase(tmp_path, cue_phones, words):
    config = default_config()
    config["corpus"]["synthetic"]["cue_phones"] = cue_phones
    assert words in one_error(check_config(config, tmp_path), "corpus.synthetic.cue_phones")


def test_the_pretext_checkpoint_needs_clips_to_train_on(tmp_path):
    config = default_config()
    config["checkpoint"].update(source="pretext")
    config["checkpoint"]["pretext"].update(clips=40, dev_clips=40)
    message = one_error(check_config(config, tmp_path), "checkpoint.pretext.dev_clips")
    assert "40 held-out clips of 40 leave none to train on" in message
    config["checkpoint"].update(source="tiny")
    assert errors(check_config(config, tmp_path)) == []


# -- the real SVD -------------------------------------------------------------------------------


def test_a_real_corpus_needs_a_root(tmp_path):
    config = svd_config(tmp_path)
    config["corpus"]["root"] = None
    message = one_error(check_config(config, tmp_path), "corpus.root")
    assert "not set" in message and "--config corpus='{root:" in message


def test_a_root_that_does_not_exist(tmp_path):
    message = one_error(check_config(svd_config(tmp_path / "nowhere"), tmp_path), "corpus.root")
    assert f"'{tmp_path / 'nowhere'}': no such folder" in message and "set corpus.root" in message


def test_a_root_that_is_a_file(tmp_path):
    (tmp_path / "svd.zip").write_bytes(b"PK")
    message = one_error(check_config(svd_config(tmp_path / "svd.zip"), tmp_path), "corpus.root")
    assert "is a file, not a folder" in message


def test_a_root_without_phrase_recordings(tmp_path):
    (tmp_path / "data" / "1" / "vowels").mkdir(parents=True)
    (tmp_path / "data" / "1" / "vowels" / "1-a_n.nsp").write_bytes(b"FORMDS16")
    message = one_error(check_config(svd_config(tmp_path), tmp_path), "corpus.root")
    assert "holds no phrase recording" in message and "<session>-phrase.nsp" in message


def test_a_root_with_phrase_recordings_at_any_depth(tmp_path):
    flat_corpus(tmp_path / "svd" / "healthy" / "female" / "1")
    assert errors(check_config(svd_config(tmp_path / "svd"), tmp_path)) == []


def test_a_session_table_that_does_not_exist(tmp_path):
    flat_corpus(tmp_path / "svd")
    config = svd_config(tmp_path / "svd", tmp_path / "missing.csv")
    message = one_error(check_config(config, tmp_path), "corpus.metadata")
    assert "missing.csv': no such file" in message


def test_a_session_table_without_the_official_columns(tmp_path):
    flat_corpus(tmp_path / "svd")
    table = tmp_path / "table.csv"
    table.write_text("session,speaker\n1,1\n")
    message = one_error(check_config(svd_config(tmp_path / "svd", table), tmp_path), "corpus.metadata")
    assert "lacks the column(s) AufnahmeID" in message and "Pathologien" in message


def test_a_session_table_that_is_not_utf8(tmp_path):
    flat_corpus(tmp_path / "svd")
    table = tmp_path / "table.csv"
    table.write_bytes(b"\xff\xfe" + SUMMARY.encode("utf-16-le"))
    message = one_error(check_config(svd_config(tmp_path / "svd", table), tmp_path), "corpus.metadata")
    assert "cannot be read as a UTF-8 CSV table" in message


def test_a_file_column_must_name_files_under_the_root(tmp_path):
    root = flat_corpus(tmp_path / "svd")
    table = tmp_path / "table.csv"
    table.write_text(SUMMARY.strip() + ",file\n1,n,2000-01-01,,1,1970-01-01,w,,elsewhere/1.wav\n")
    message = one_error(check_config(svd_config(root, table), tmp_path), "corpus.root")
    assert "`file` column" in message
    table.write_text(SUMMARY.strip() + ",file\n1,n,2000-01-01,,1,1970-01-01,w,,1-phrase.wav\n")
    assert errors(check_config(svd_config(root, table), tmp_path)) == []


# -- the checkpoint -----------------------------------------------------------------------------


def checkpoint_folder(folder, weights="model.safetensors"):
    folder.mkdir(parents=True)
    for name in ("config.json", "preprocessor_config.json", weights):
        (folder / name).write_text("{}")
    return folder


def fake_hub_cache(cache, repo_id, files):
    """The Hugging Face cache layout: models--owner--name/{refs/main, snapshots/<rev>/<file>}."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / "0123456789abcdef"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123456789abcdef")
    for name in files:
        (snapshot / name).write_text("{}")
    return cache


def checkpoint_problems(source, tmp_path, hf_cache=None):
    config = default_config()
    config["checkpoint"]["source"] = str(source)
    return check_config(config, tmp_path, hf_cache=hf_cache or tmp_path / "empty-cache")


def test_a_checkpoint_folder_that_does_not_exist(tmp_path):
    message = one_error(checkpoint_problems(tmp_path / "ast", tmp_path), "checkpoint.source")
    assert "no such folder" in message and "save_pretrained folder" in message


def test_a_checkpoint_folder_with_pickled_weights_only(tmp_path):
    folder = checkpoint_folder(tmp_path / "ast", weights="pytorch_model.bin")
    message = one_error(checkpoint_problems(folder, tmp_path), "checkpoint.source")
    assert "no safetensors weights" in message and "pickled" in message


def test_a_checkpoint_folder_without_its_feature_extractor(tmp_path):
    folder = checkpoint_folder(tmp_path / "ast")
    (folder / "preprocessor_config.json").unlink()
    message = one_error(checkpoint_problems(folder, tmp_path), "checkpoint.source")
    assert "has no preprocessor_config.json" in message


def test_a_complete_checkpoint_folder(tmp_path):
    folder = checkpoint_folder(tmp_path / "ast")
    assert errors(checkpoint_problems(folder, tmp_path)) == []


def test_a_checkpoint_name_not_in_the_cache_gives_the_download_command(tmp_path):
    name = "MIT/ast-finetuned-audioset-10-10-0.4593"
    message = one_error(checkpoint_problems(name, tmp_path), "checkpoint.source")
    assert f"`hf download {name}`" in message and "never downloads" in message
    assert "empty-cache" in message


def test_a_checkpoint_name_in_the_cache(tmp_path):
    name = "MIT/ast-finetuned-audioset-10-10-0.4593"
    cache = fake_hub_cache(tmp_path / "hub", name, ["config.json", "preprocessor_config.json", "model.safetensors"])
    assert errors(checkpoint_problems(name, tmp_path, cache)) == []
    pickled = fake_hub_cache(tmp_path / "hub2", name, ["config.json", "preprocessor_config.json", "pytorch_model.bin"])
    message = one_error(checkpoint_problems(name, tmp_path, pickled), "checkpoint.source")
    assert "lacks its model.safetensors" in message


# -- the aligner --------------------------------------------------------------------------------


def test_mfa_must_be_reachable_without_conda(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    config = default_config()
    config["align"]["backend"] = "mfa"
    message = one_error(check_config(config, tmp_path), "align.mfa.command")
    assert "'mfa' is not an executable on the PATH" in message and "--sdm conda" in message
    assert errors(check_config(config, tmp_path, conda=True)) == []
    config["align"]["mfa"]["command"] = str(FAKE_MFA)
    assert errors(check_config(config, tmp_path)) == []


def test_conda_runs_need_env_files_in_step_with_their_requirements(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "audio.txt").write_text("numpy==2.4.6\nsoxr==1.1.0\n")
    (tmp_path / "audio.yaml").write_text("dependencies:\n  - python=3.11\n  - pip=26.0.1\n  - pip:\n      - numpy==2.4.6\n")
    assert config_checks.check_env_files(False, tmp_path) == []
    [problem] = config_checks.check_env_files(True, tmp_path)
    assert str(problem) == (
        "config --sdm conda: envs/audio.yaml lists other Python packages than envs/requirements/audio.txt; "
        "run `make envs` to rewrite its pip section"
    )
    assert config_checks.check_env_files(True) == [], "the committed env files are out of date"


# -- warnings -----------------------------------------------------------------------------------


def test_pretrained_mfa_models_must_be_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("MFA_ROOT_DIR", str(tmp_path / "MFA"))
    config = default_config()
    config["align"]["backend"] = "mfa"
    config["align"]["mfa"]["command"] = str(FAKE_MFA)
    config["corpus"]["synthetic"]["n_sessions"] = 400
    found = warnings(check_config(config, tmp_path))
    assert [w.split(":")[0] for w in found] == ["config align.mfa.acoustic_model", "config align.mfa.dictionary"]
    assert "`mfa model download acoustic german_mfa`" in found[0]
    for kind, name in (("acoustic", "german_mfa.zip"), ("dictionary", "german_mfa.dict")):
        (tmp_path / "MFA" / "pretrained_models" / kind).mkdir(parents=True)
        (tmp_path / "MFA" / "pretrained_models" / kind / name).write_text("")
    assert warnings(check_config(config, tmp_path)) == []


def test_a_small_dev_or_test_split_warns(tmp_path):
    config = default_config()
    config["corpus"]["synthetic"]["n_sessions"] = 100
    found = warnings(check_config(config, tmp_path))
    assert [w.split(":")[0] for w in found] == ["config split.dev", "config split.test"]
    assert "about 10 test speakers, fewer than 20" in found[1]
    config["corpus"]["synthetic"]["n_sessions"] = 400
    assert warnings(check_config(config, tmp_path)) == []


def test_a_small_real_session_table_warns(tmp_path):
    root = flat_corpus(tmp_path / "svd")
    config = svd_config(root, session_table(tmp_path / "table.csv", speakers=100))
    assert len(warnings(check_config(config, tmp_path))) == 2
    config = svd_config(root, session_table(tmp_path / "table.csv", speakers=300))
    assert warnings(check_config(config, tmp_path)) == []


def test_a_results_folder_of_another_corpus_warns(tmp_path):
    old_root = flat_corpus(tmp_path / "old")
    new_root = flat_corpus(tmp_path / "new")
    catalog = tmp_path / "results" / "catalog"
    catalog.mkdir(parents=True)
    pd.DataFrame({"source": [str(old_root / "1-phrase.wav")]}).to_parquet(catalog / "sessions.parquet")
    table = session_table(tmp_path / "table.csv", speakers=300)
    found = warnings(check_config(svd_config(new_root, table), tmp_path))
    assert len(found) == 1 and found[0].startswith("config results: 'results' already holds a run on another corpus")
    assert "--config results=" in found[0]
    assert warnings(check_config(svd_config(old_root, table), tmp_path)) == []


def test_run_checks_raises_every_error_and_logs_warnings(tmp_path):
    config = svd_config(tmp_path / "nowhere")
    config["split"]["train"] = 0.5
    logged = []
    with pytest.raises(ConfigError) as raised:
        config_checks.run_checks(config, tmp_path, warn=logged.append)
    lines = str(raised.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["config split", "config corpus.root"]


# -- the real snakemake stops before any job ----------------------------------------------------


def dry_run(workdir, *args, env=None):
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "-n", "--cores", "1", *args]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    # Snakemake prints the error on stdout, its own notes on stderr: read them as one.
    done.output = done.stdout + done.stderr
    return done, time.monotonic() - started


@pytest.mark.parametrize(
    "config, key, words",
    [
        ({"corpus": {"root": "/nonexistent/svd"}}, "corpus.root", ["'/nonexistent/svd': no such folder"]),
        ({"checkpoint": {"source": "/nonexistent/ast"}}, "checkpoint.source", ["no such folder"]),
        ({"checkpoint": {"source": "MIT/ast-finetuned-audioset-10-10-0.4593"}}, "checkpoint.source",
         ["`hf download MIT/ast-finetuned-audioset-10-10-0.4593`"]),
        ({"align": {"mfa": {"command": "mfa"}}}, "align.mfa.command", ["--sdm conda"]),
    ],
    ids=["root", "checkpoint-folder", "checkpoint-name", "mfa"],
)
def test_the_paper_config_fails_in_seconds_before_any_job(tmp_path, config, key, words):
    """config/paper.yaml with one real-world thing missing: a one-line error, no job."""
    root = flat_corpus(tmp_path / "svd")
    checkpoint = checkpoint_folder(tmp_path / "ast")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "mfa").symlink_to(FAKE_MFA)
    good = {"corpus": {"root": str(root)}, "checkpoint": {"source": str(checkpoint)}}
    overrides = copy.deepcopy(good)
    for section, values in config.items():
        overrides.setdefault(section, {}).update(values)
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(overrides))
    env = dict(os.environ, PATH=os.pathsep.join([str(fake_bin), os.environ["PATH"]]), HF_HUB_CACHE=str(tmp_path / "hub"))
    if key == "align.mfa.command":
        env["PATH"] = os.environ["PATH"]
    args = ["--configfile", str(ROOT / "config" / "paper.yaml"), str(tmp_path / "override.yaml")]
    done, seconds = dry_run(tmp_path / "work", *args, env=env)
    assert done.returncode != 0
    lines = [line for line in done.output.splitlines() if line.startswith("config ")]
    assert len(lines) == 1 and lines[0].startswith(f"config {key}: "), done.output[-3000:]
    for word in words:
        assert word in lines[0]
    assert seconds < 30, f"took {seconds:.1f} s"
    assert not (tmp_path / "work" / "results").exists()


def test_the_paper_config_plans_when_everything_is_there(tmp_path):
    root = flat_corpus(tmp_path / "svd")
    checkpoint = checkpoint_folder(tmp_path / "ast")
    (tmp_path / "override.yaml").write_text(yaml.safe_dump(
        {"corpus": {"root": str(root)}, "checkpoint": {"source": str(checkpoint)}, "align": {"mfa": {"command": str(FAKE_MFA)}}}
    ))
    done, _ = dry_run(tmp_path / "work", "--configfile", str(ROOT / "config" / "paper.yaml"), str(tmp_path / "override.yaml"))
    assert done.returncode == 0, done.output[-3000:]
    assert "catalog" in done.stdout


@pytest.mark.parametrize(
    "config, key",
    [
        ({"split": {"train": 0.9, "dev": 0.1, "test": 0.1}}, "split"),
        ({"catalog": {"min_duration_s": 10, "max_duration_s": 5}}, "catalog.min_duration_s"),
        ({"corpus": {"sourc": "svd"}}, "corpus.sourc"),
    ],
    ids=["shares", "durations", "unknown-key"],
)
def test_a_config_error_stops_the_demo_before_any_job(tmp_path, config, key):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(config))
    done, seconds = dry_run(tmp_path / "work", "--configfile", str(tmp_path / "bad.yaml"))
    assert done.returncode != 0
    lines = [line for line in done.output.splitlines() if line.startswith("config ")]
    assert len(lines) == 1 and lines[0].startswith(f"config {key}: "), done.output[-3000:]
    assert len(done.output.splitlines()) < 15, done.output
    assert seconds < 30
