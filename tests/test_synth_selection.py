import pandas as pd
import pytest

from svd_explain.catalog import default_metadata, read_metadata
from svd_explain.synth.selection import has_phrase_recording, select_sessions, session_order

SEED = 13


@pytest.fixture(scope="module")
def table():
    return read_metadata(default_metadata())


def _first_sessions(rows):
    rows = rows.assign(speaker=rows["SprecherID"].astype(int), session=rows["AufnahmeID"].astype(int))
    return rows.sort_values(["speaker", "AufnahmeDatum", "session"]).groupby("speaker").first()


def test_draws_only_sessions_with_a_phrase_recording(table):
    everything = session_order(table, SEED)
    # The notes' 1988 sessions with a phrase, less the 6 healthy 2001 sessions that cannot be
    # told apart from the 53 without one.
    assert len(everything) == len(set(everything)) == 1982
    assert not {713, 1669} & set(everything)
    assert max(everything) <= 2611
    chosen = table.loc[table["AufnahmeID"].astype(int).isin(everything)]
    healthy_2001 = chosen.loc[
        chosen["AufnahmeID"].astype(int).between(1925, 2202)
        & (chosen["AufnahmeTyp"] == "n")
        & chosen["AufnahmeDatum"].str.startswith("2001")
    ]
    assert healthy_2001.empty
    assert has_phrase_recording(table).sum() == 1982


def test_keeps_the_real_rows_unchanged(table):
    chosen = select_sessions(None, 60, SEED)
    assert list(chosen.columns) == list(table.columns)
    real = table.set_index("AufnahmeID")
    pd.testing.assert_frame_equal(chosen.set_index("AufnahmeID"), real.loc[chosen["AufnahmeID"]])


def test_is_nested_and_seeded():
    small = set(select_sessions(None, 50, SEED)["AufnahmeID"])
    large = set(select_sessions(None, 300, SEED)["AufnahmeID"])
    assert len(small) == 50 and len(large) == 300
    assert small <= large
    assert set(select_sessions(None, 50, SEED)["AufnahmeID"]) == small
    assert set(select_sessions(None, 50, SEED + 1)["AufnahmeID"]) != small


def test_stratifies_speakers_by_status_and_sex(table):
    eligible = _first_sessions(table.loc[has_phrase_recording(table)])
    expected = eligible.groupby(["AufnahmeTyp", "Geschlecht"]).size() / len(eligible)
    for n_sessions in (100, 400):
        speakers = _first_sessions(select_sessions(None, n_sessions, SEED))
        observed = speakers.groupby(["AufnahmeTyp", "Geschlecht"]).size() / len(speakers)
        assert (observed - expected).abs().max() < 0.04, (n_sessions, observed, expected)


def test_keeps_all_sessions_of_a_speaker_and_multi_session_speakers_occur():
    chosen = select_sessions(None, 300, SEED)
    per_speaker = chosen.groupby("SprecherID").size()
    assert (per_speaker > 1).sum() >= 5
    # Only the last speaker drawn may be cut short; every other keeps all their sessions.
    table = read_metadata(default_metadata())
    available = table.loc[has_phrase_recording(table)].groupby("SprecherID").size()
    assert (per_speaker < available.loc[per_speaker.index]).sum() <= 1


def test_rejects_a_size_beyond_the_table():
    with pytest.raises(ValueError, match="between 1 and 1982"):
        select_sessions(None, 1983, SEED)
