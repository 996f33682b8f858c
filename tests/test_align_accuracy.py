"""Scoring alignments against known boundaries, and the alignment status files."""
import json

import numpy as np
import pandas as pd
import pytest
import soundfile

from svd_explain.align.accuracy import accuracy_table, boundary_pairs, boundary_table, write_accuracy
from svd_explain.align.status import figure_note, phones_usable, read_status, write_failed_table, write_status
from svd_explain.textgrids import Segment, write_alignment

TRUTH = [Segment(0.1, 0.2, "a"), Segment(0.2, 0.35, "b"), Segment(0.5, 0.6, "c")]
# a starts and ends 10 ms late (its end is b's start), b ends 25 ms early, c starts 30 ms late.
FOUND = [Segment(0.11, 0.21, "a"), Segment(0.21, 0.325, "b"), Segment(0.53, 0.6, "c")]


def one_word(phones):
    return [Segment(phones[0].start, phones[-1].end, "abc")]


def write_pair(folder, name, truth=TRUTH, found=FOUND):
    write_alignment(folder / f"{name}.truth.TextGrid", one_word(truth), truth, 0.8)
    write_alignment(folder / f"{name}.TextGrid", one_word(found), found, 0.8)
    return folder / f"{name}.truth.TextGrid", folder / f"{name}.TextGrid"


def test_accuracy_per_phone_and_overall(tmp_path):
    table = accuracy_table([write_pair(tmp_path, "1")]).set_index("phone")
    assert list(table.index) == ["a", "b", "c", "overall"]
    assert table.loc["a"].to_dict() == {
        "n": 2, "median_ms": 10.0, "p90_ms": 10.0, "within_10ms": 1.0, "within_20ms": 1.0, "within_50ms": 1.0,
        "mean_signed_ms": 10.0,
    }
    assert table.loc["b", "median_ms"] == pytest.approx(17.5)
    assert table.loc["b", "within_20ms"] == 0.5
    assert table.loc["c", "mean_signed_ms"] == pytest.approx(15.0)
    # Overall: the five distinct boundaries, a's end and b's start counted once.
    overall = table.loc["overall"]
    assert overall.n == 5
    assert overall.median_ms == pytest.approx(10.0)
    assert overall.within_20ms == pytest.approx(0.6)
    assert overall.mean_signed_ms == pytest.approx(5.0)
    assert overall.p90_ms == pytest.approx(np.percentile([10, 10, 25, 30, 0], 90))
    assert overall.within_10ms == pytest.approx(0.6) and overall.within_50ms == 1.0


def test_every_boundary_of_the_phrase_gets_its_signed_error(tmp_path):
    table = boundary_table([write_pair(tmp_path, "1"), write_pair(tmp_path, "2")])
    assert table[["position", "boundary", "n", "median_signed_ms"]].values.tolist() == [
        [0, "_|a", 2, 10.0], [1, "a|b", 2, 10.0], [2, "b|_", 2, -25.0], [2, "_|c", 2, 30.0], [3, "c|_", 2, 0.0],
    ]
    assert table["within_20ms"].tolist() == [1.0, 1.0, 0.0, 0.0, 1.0]


def test_different_phone_sequences_cannot_be_scored():
    with pytest.raises(ValueError, match="phone sequences differ"):
        boundary_pairs(TRUTH, FOUND[:2])


def test_nothing_to_score_is_an_error():
    with pytest.raises(ValueError, match="no aligned recording"):
        accuracy_table([])


def test_write_accuracy_scores_aligned_recordings_and_draws_them(tmp_path):
    truth_dir = tmp_path / "truth"
    truth_dir.mkdir()
    rng = np.random.default_rng(0)
    statuses, alignments, audio = [], [], []
    for session, aligned in ((1, True), (2, False), (3, True)):
        truth, found = write_pair(tmp_path, str(session))
        truth.rename(truth_dir / f"{session}.TextGrid")
        if not aligned:  # an unaligned recording has an empty TextGrid; it must be left out
            write_alignment(found, [], [], 0.8)
        write_status(tmp_path / f"{session}.json", session, aligned, "" if aligned else "silent")
        soundfile.write(tmp_path / f"{session}.wav", rng.normal(0, 0.1, 12800), 16000)
        statuses.append(tmp_path / f"{session}.json")
        alignments.append(found)
        audio.append(tmp_path / f"{session}.wav")
    table_path, figure_path = tmp_path / "accuracy.tsv", tmp_path / "boundaries.png"
    write_accuracy(statuses, alignments, truth_dir, audio, table_path, figure_path)
    table = pd.read_csv(table_path, sep="\t").set_index("phone")
    assert table.loc["overall", "n"] == 10  # two recordings of five boundaries
    assert table.loc["a", "n"] == 4
    assert figure_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failed_table_lists_failures_and_doubtful_alignments_with_reasons(tmp_path):
    write_status(tmp_path / "3.json", 3, False, "silent: frame levels span only 2.0 dB")
    write_status(tmp_path / "1.json", 1, True)
    write_status(tmp_path / "2.json", 2, False, "too short: 0.30 s")
    write_status(tmp_path / "4.json", 4, True, "implausible alignment: /ə/ takes 40 % of the phrase", doubtful=True)
    out = tmp_path / "failed.tsv"
    assert write_failed_table(sorted(tmp_path.glob("*.json")), out) == 3
    assert out.read_text().splitlines() == [
        "session_id\treason", "2\ttoo short: 0.30 s", "3\tsilent: frame levels span only 2.0 dB",
        "4\timplausible alignment: /ə/ takes 40 % of the phrase",
    ]
    statuses = {s: read_status(tmp_path / f"{s}.json") for s in (1, 2, 4)}
    assert [phones_usable(statuses[s]) for s in (1, 2, 4)] == [True, False, False]
    assert figure_note(statuses[1]) == ""
    assert figure_note(statuses[2]) == "not aligned: too short: 0.30 s"
    assert figure_note(statuses[4]) == "alignment doubtful (/ə/ takes 40 % of the phrase)"


def test_failed_table_has_a_header_when_nothing_failed(tmp_path):
    write_status(tmp_path / "1.json", 1, True)
    out = tmp_path / "failed.tsv"
    assert write_failed_table([tmp_path / "1.json"], out) == 0
    assert out.read_text() == "session_id\treason\n"


def test_a_failure_needs_a_reason_and_statuses_are_checked(tmp_path):
    with pytest.raises(ValueError, match="needs a reason"):
        write_status(tmp_path / "1.json", 1, False)
    with pytest.raises(ValueError, match="needs a reason"):
        write_status(tmp_path / "1.json", 1, True, doubtful=True)
    with pytest.raises(ValueError, match="only an alignment can be doubtful"):
        write_status(tmp_path / "1.json", 1, False, "x", doubtful=True)
    (tmp_path / "2.json").write_text(json.dumps({"session_id": 2, "aligned": True}))
    with pytest.raises(ValueError, match="not an alignment status"):
        read_status(tmp_path / "2.json")
