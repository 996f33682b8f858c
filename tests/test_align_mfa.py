"""The MFA backend's command contract: the exact command lines, the corpus it is given, and how
its output becomes results/alignment/. The real MFA (conda only) is not run here: a stand-in
executable, tests/fake_mfa/mfa, checks its arguments as MFA 3's command line does and writes
TextGrids in MFA's layout, and the workflow runs against it with the real snakemake."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
import yaml

from svd_explain.align.mfa import mfa_command, read_speakers, stage_corpus
from svd_explain.align.mfa_outputs import collect_alignment, find_textgrid
from svd_explain.textgrids import Segment, read_alignment, write_alignment

ROOT = Path(__file__).resolve().parents[1]
FAKE_MFA = ROOT / "tests" / "fake_mfa" / "mfa"
COMMON_OPTIONS = ["--output_format", "long_textgrid", "--num_jobs", "3", "--temporary_directory", "t", "--clean", "--overwrite"]


# ---------------------------------------------------------------- command lines


def test_pretrained_mode_runs_mfa_align():
    assert mfa_command("mfa", "pretrained", "c", "o", "german_mfa", "german_mfa", "m.zip", "t", 3) == [
        "mfa", "align", "c", "german_mfa", "german_mfa", "o", *COMMON_OPTIONS,
    ]


def test_train_mode_runs_mfa_train_and_exports_alignments():
    assert mfa_command("mfa", "train", "c", "o", "lexicon.dict", "german_mfa", "m.zip", "t", 3) == [
        "mfa", "train", "c", "lexicon.dict", "m.zip", "--output_directory", "o", *COMMON_OPTIONS,
    ]


def test_the_mfa_command_may_carry_a_prefix():
    command = mfa_command("conda run -n 'mfa env' mfa", "pretrained", "c", "o", "d", "a", "m.zip", "t", 1)
    assert command[:5] == ["conda", "run", "-n", "mfa env", "mfa"]


@pytest.mark.parametrize("mode, jobs, message", [("adapt", 1, "mode must be one of"), ("train", 0, "at least 1")])
def test_bad_settings_are_refused(mode, jobs, message):
    with pytest.raises(ValueError, match=message):
        mfa_command("mfa", mode, "c", "o", "d", "a", "m.zip", "t", jobs)


# ---------------------------------------------------------------- corpus and outputs


def test_the_corpus_has_a_folder_per_speaker_with_audio_and_transcript(tmp_path):
    for session in (11, 12, 13):
        soundfile.write(tmp_path / f"{session}.wav", np.zeros(1600), 16000)
    sessions = tmp_path / "sessions.tsv"
    pd.DataFrame({"session_id": [11, 12, 13], "speaker_id": [5, 5, 7], "sex": ["male"] * 3}).to_csv(sessions, sep="\t", index=False)
    speakers = read_speakers(sessions)
    assert speakers == {"11": "5", "12": "5", "13": "7"}
    corpus = tmp_path / "corpus"
    stage_corpus(sorted(tmp_path.glob("*.wav")), speakers, "Guten Morgen, wie geht es Ihnen?\n", corpus)
    assert sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*.*")) == [
        "5/11.lab", "5/11.wav", "5/12.lab", "5/12.wav", "7/13.lab", "7/13.wav",
    ]
    assert (corpus / "5" / "11.wav").resolve() == (tmp_path / "11.wav").resolve()
    assert (corpus / "7" / "13.lab").read_text() == "Guten Morgen, wie geht es Ihnen?\n"
    with pytest.raises(ValueError, match="session 99 is not in the catalog"):
        soundfile.write(tmp_path / "99.wav", np.zeros(1600), 16000)
        stage_corpus([tmp_path / "99.wav"], speakers, "x", corpus)


def mfa_output(run_dir, session, phones, speaker="5", duration=2.0):
    path = run_dir / "output" / speaker / f"{session}.TextGrid"
    path.parent.mkdir(parents=True, exist_ok=True)
    words = [Segment(phones[0].start, phones[-1].end, "guten")] if phones else []
    write_alignment(path, words, phones, duration)
    return path


def test_collect_takes_mfa_textgrid_and_marks_the_recording_aligned(tmp_path):
    soundfile.write(tmp_path / "11.wav", np.zeros(31990), 16000)  # 1.999 s: MFA's grid is longer
    phones = [Segment(0.5, 0.6, "ɡ"), Segment(0.6, 0.7, "uː"), Segment(1.9, 2.0, "n")]
    mfa_output(tmp_path, 11, phones)
    assert collect_alignment(tmp_path, "11", tmp_path / "11.wav", tmp_path / "a.TextGrid", tmp_path / "a.json")
    words, found, duration = read_alignment(tmp_path / "a.TextGrid")
    assert [p.label for p in found] == ["ɡ", "uː", "n"]
    # Clipped to the recording (to the 0.1 ms the TextGrid writer rounds to).
    assert found[-1].end == pytest.approx(1.999375, abs=1e-4)
    assert duration == pytest.approx(1.999375, abs=1e-4)
    assert json.loads((tmp_path / "a.json").read_text()) == {"session_id": 11, "aligned": True, "doubtful": False, "reason": ""}


@pytest.mark.parametrize(
    "case, reason",
    [
        ("missing", "MFA wrote no TextGrid for it"),
        ("no phones", "MFA's TextGrid has no phones"),
    ],
)
def test_a_recording_mfa_skipped_is_a_failure_with_its_reason(tmp_path, case, reason):
    soundfile.write(tmp_path / "11.wav", np.zeros(32000), 16000)
    (tmp_path / "output").mkdir()
    if case == "no phones":
        mfa_output(tmp_path, 11, [])
    assert not collect_alignment(tmp_path, "11", tmp_path / "11.wav", tmp_path / "a.TextGrid", tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text()) == {"session_id": 11, "aligned": False, "doubtful": False, "reason": reason}
    words, phones, duration = read_alignment(tmp_path / "a.TextGrid")
    assert words == phones == [] and duration == pytest.approx(2.0)


def test_textgrids_are_found_in_speaker_folders_or_flat(tmp_path):
    output = tmp_path / "output"
    mfa_output(tmp_path, 11, [Segment(0.5, 0.6, "a")], speaker="5")
    write_alignment(output / "12.TextGrid", [], [], 1.0)
    assert find_textgrid(output, 11) == output / "5" / "11.TextGrid"
    assert find_textgrid(output, 12) == output / "12.TextGrid"
    assert find_textgrid(output, 13) is None
    mfa_output(tmp_path, 11, [Segment(0.5, 0.6, "a")], speaker="6")
    with pytest.raises(ValueError, match="more than one TextGrid"):
        find_textgrid(output, 11)


# ---------------------------------------------------------------- the workflow, with a stand-in mfa


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["align", "corpus", "german_mfa", "out"], "align takes CORPUS DICTIONARY ACOUSTIC_MODEL OUTPUT"),
        (["align", "corpus", "german_mfa", "english_mfa", "out"], "neither a file nor a downloaded pretrained model"),
        (["align", "corpus", "german_mfa", "german_mfa", "out", "--beam_width", "10"], "no such option"),
        (["align", "corpus", "german_mfa", "german_mfa", "out", "--num_jobs", "0"], "invalid --num_jobs"),
        (["train", "corpus", "german_mfa", "model.zip"], "without --output_directory"),
        (["align", "missing", "german_mfa", "german_mfa", "out"], "does not exist"),
    ],
)
def test_the_stand_in_rejects_what_mfa_rejects(tmp_path, arguments, message):
    (tmp_path / "corpus" / "5").mkdir(parents=True)
    soundfile.write(tmp_path / "corpus" / "5" / "11.wav", np.zeros(16000), 16000, subtype="PCM_16")
    (tmp_path / "corpus" / "5" / "11.lab").write_text("guten morgen\n")
    done = subprocess.run([sys.executable, str(FAKE_MFA), *arguments], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr


def snakemake(workdir, config, *targets, env=None):
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    command = [
        sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
        "--configfile", str(workdir / "config.yaml"), "--cores", "2", *targets,
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    assert done.returncode == 0, f"snakemake failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done


def test_workflow_aligns_with_mfa_in_both_modes(tmp_path):
    config = {
        "corpus": {"synthetic": {"n_sessions": 5}},
        "align": {"backend": "mfa", "mfa": {"mode": "pretrained", "command": str(FAKE_MFA), "num_jobs": 2}},
    }
    snakemake(tmp_path, config, "results/catalog/sessions.parquet")
    sessions = [str(s) for s in pd.read_parquet(tmp_path / "results" / "catalog" / "sessions.parquet")["session_id"]]
    calls = tmp_path / "mfa_calls.jsonl"
    env = {
        **os.environ,
        # The stand-in runs on the tests' Python; it says it could not align the first session.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "FAKE_MFA_CALLS": str(calls),
        "FAKE_MFA_UNALIGNABLE": sessions[0],
    }
    snakemake(tmp_path, config, "results/alignment/failed.tsv", env=env)

    run = "results/alignment/mfa"
    options = ["--output_format", "long_textgrid", "--num_jobs", "2", "--temporary_directory", f"{run}/tmp", "--clean", "--overwrite"]
    assert [json.loads(line) for line in calls.read_text().splitlines()] == [
        ["align", f"{run}/corpus", "german_mfa", "german_mfa", f"{run}/output", *options],
    ]
    results = tmp_path / "results" / "alignment"
    failed = pd.read_csv(results / "failed.tsv", sep="\t", dtype={"session_id": str})
    assert failed.to_dict("records") == [
        {"session_id": sessions[0], "reason": "MFA wrote no TextGrid for it"}
    ]
    for session in sessions[1:]:
        assert json.loads((results / "status" / f"{session}.json").read_text())["aligned"] is True
        words, phones, _ = read_alignment(results / f"{session}.TextGrid")
        assert [w.label for w in words] == ["guten", "morgen", "wie", "geht", "es", "ihnen"]
        assert len(phones) == len("gutenmorgenwiegehtesihnen")
    assert read_alignment(results / f"{sessions[0]}.TextGrid")[1] == []
    assert not (tmp_path / run / "tmp").exists()

    # Switching to mode train reruns MFA (a changed parameter) as `mfa train`.
    config["align"]["mfa"]["mode"] = "train"
    snakemake(tmp_path, config, "results/alignment/failed.tsv", env=env)
    assert json.loads(calls.read_text().splitlines()[-1]) == [
        "train", f"{run}/corpus", "german_mfa", f"{run}/acoustic_model.zip", "--output_directory", f"{run}/output", *options,
    ]
    assert (tmp_path / run / "acoustic_model.zip").is_file()
    assert (tmp_path / run / "command.txt").read_text().startswith(f"{FAKE_MFA} train ")
