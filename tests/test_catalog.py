import numpy as np
import pandas as pd
import pytest
import soundfile

from svd_explain.catalog import (
    METADATA_COLUMNS,
    build_catalog,
    default_metadata,
    normalise_label,
    read_categories,
    sessions_from_metadata,
)


def row(session, speaker, typ="n", labels="", sex="w", recorded="2000-01-01", born="1970-01-01"):
    return {
        "AufnahmeID": str(session), "AufnahmeTyp": typ, "AufnahmeDatum": recorded, "Diagnose": "",
        "SprecherID": str(speaker), "Geburtsdatum": born, "Geschlecht": sex, "Pathologien": labels,
    }


def table(*rows):
    return pd.DataFrame(rows, columns=METADATA_COLUMNS)


def reasons(excluded):
    return dict(zip(excluded["session_id"].astype(str), excluded["reason"]))


def test_full_session_table_gives_the_studys_speaker_counts():
    sessions, excluded = sessions_from_metadata(default_metadata())
    assert len(sessions) == 1853 == sessions["speaker_id"].nunique()
    assert (sessions["status"] == "pathological").sum() == 1002
    assert (sessions["status"] == "healthy").sum() == 851
    # Every other session is accounted for, each with a reason.
    assert len(sessions) + len(excluded) == 2225
    assert excluded["reason"].str.startswith("later session of speaker").all()


def test_all_sessions_mode_keeps_repeat_sessions():
    sessions, excluded = sessions_from_metadata(default_metadata(), sessions="all")
    assert len(sessions) == 2225 and excluded.empty
    assert sessions["speaker_id"].nunique() == 1853
    # The age confound of the SVD: healthy speakers are much younger.
    medians = sessions.groupby("status")["age"].median()
    assert medians["healthy"] < 30 < 45 < medians["pathological"]


def test_labels_match_across_umlauts_english_names_and_aliases():
    categories = read_categories()
    for spelling in ["Reinke Ödem", "Reinke Oedem", "reinke ödem", "hemmoragic_reinkes_edema", "Reinke's edema"]:
        assert categories[normalise_label(spelling)]["label_de"] == "Reinke Ödem"
    assert categories[normalise_label("gastric reflux")]["label_de"] == "GERD"
    assert categories[normalise_label("cyst")]["label_de"] == "Cyste"


def test_categories_follow_the_chosen_scheme_and_mixed_rule():
    metadata = table(
        row(1, 1, "p", "Laryngitis"),
        row(2, 2, "p", "Funktionelle Dysphonie"),
        row(3, 3, "p", "Laryngitis, Funktionelle Dysphonie"),
        row(4, 4, "p", "Kontaktpachydermie"),
        row(5, 5),
    )
    sessions, _ = sessions_from_metadata(metadata)
    assert list(sessions["category"]) == ["organic", "non-organic", "organic", "organic", "healthy"]
    assert list(sessions["pathologies"].iloc[2]) == ["Laryngitis", "Funktionelle Dysphonie"]
    # USVAC's clinicians left Kontaktpachydermie unclassified: non-organic under that scheme.
    sessions, _ = sessions_from_metadata(metadata, category_scheme="usvac")
    assert sessions.set_index("session_id").loc[4, "category"] == "non-organic"
    sessions, excluded = sessions_from_metadata(metadata, mixed_labels="exclude")
    assert 3 not in set(sessions["session_id"])
    assert "both kinds" in reasons(excluded)["3"]


def test_bad_metadata_is_excluded_with_reasons_never_guessed():
    metadata = table(
        row(1, 1, "p", "Laryngitis"),
        row(2, 2, "p", "Stimmbandentzündung"),  # not an SVD label
        row(3, 3, sex=""),
        row(4, 4, "x"),
        row(5, 5, "p", ""),
        row(6, 6, "n", "Laryngitis"),
        row(7, 7),
        row(7, 8),
        row(9, 9, recorded="", born=""),
        row("abc", 10),
    )
    sessions, excluded = sessions_from_metadata(metadata)
    why = reasons(excluded)
    assert set(sessions["session_id"]) == {1, 9}
    assert "unknown pathology label 'Stimmbandentzündung'" in why["2"]
    assert "sex missing" in why["3"]
    assert "recording type" in why["4"]
    assert "no pathology label" in why["5"]
    assert "marked healthy" in why["6"]
    assert "more than once" in why["7"]
    assert "not a number" in why["abc"]
    # Missing dates keep the session, with no age.
    assert np.isnan(sessions.set_index("session_id").loc[9, "age"])


def test_first_session_decides_a_speakers_label():
    metadata = table(
        row(10, 1, "n", recorded="2001-05-01"),
        row(11, 1, "p", "Laryngitis", recorded="2003-05-01"),
        row(12, 2, "p", "Laryngitis", recorded="2004-01-01"),
        row(13, 2, "n", recorded="2002-01-01"),
    )
    sessions, excluded = sessions_from_metadata(metadata)
    assert dict(zip(sessions["speaker_id"], sessions["status"])) == {1: "healthy", 2: "healthy"}
    assert set(sessions["session_id"]) == {10, 13}
    assert set(excluded["session_id"]) == {11, 12}


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "summary.csv"
    table(row(1, 1)).drop(columns=["Geschlecht", "Pathologien"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="Geschlecht, Pathologien"):
        build_catalog(path, tmp_path, tmp_path / "s.parquet", tmp_path / "e.tsv")


def buzz(seconds=1.5, rate=50000, f0=200):
    """A voice-like buzz: the harmonics of f0 falling at 6 dB per octave (bright as speech is;
    a pure tone would look like an electroglottograph signal to the catalog)."""
    t = np.arange(int(seconds * rate)) / rate
    harmonics = range(1, int(min(5000, rate / 2) // f0))
    return 0.3 * sum(np.sin(2 * np.pi * f0 * n * t) / n for n in harmonics) / 2


def write_tone(path, seconds=1.5, rate=50000):
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, buzz(seconds, rate), rate)


def test_catalog_finds_both_layouts_checks_audio_and_explains_every_exclusion(tmp_path):
    root = tmp_path / "svd"
    metadata = table(
        row(1, 1), row(2, 2), row(3, 3, "p", "Laryngitis"), row(4, 4), row(5, 5),
        row(6, 6, recorded="2000-01-01"), row(7, 6, recorded="2001-01-01"),
    )
    metadata.to_csv(root.with_suffix(".csv"), index=False)
    write_tone(root / "data" / "1" / "sentnces" / "1-phrase.wav")
    write_tone(root / "2-phrase.wav")
    write_tone(root / "pathological" / "male" / "3" / "3-phrase.wav", rate=44100)
    (root / "4-phrase.wav").write_bytes(b"")
    write_tone(root / "6-phrase.wav", seconds=0.2)  # too short: speaker 6 keeps session 7
    write_tone(root / "7-phrase.wav")
    write_tone(root / "99-phrase.wav")  # no metadata row
    sessions, excluded = build_catalog(
        root.with_suffix(".csv"), root, tmp_path / "c" / "sessions.parquet", tmp_path / "c" / "excluded.tsv"
    )
    assert list(sessions["session_id"]) == [1, 2, 3, 7]
    assert sessions.set_index("session_id").loc[3, "sample_rate"] == 44100
    assert sessions["duration_s"].round(3).tolist() == [1.5, 1.5, 1.5, 1.5]
    why = reasons(pd.read_csv(tmp_path / "c" / "excluded.tsv", sep="\t", dtype=str))
    assert set(why) == {"4", "5", "6", "99"}
    assert "empty file" in why["4"]
    assert "no phrase recording" in why["5"]
    assert "too short" in why["6"]
    assert "no row in the session table" in why["99"]
    stored = pd.read_parquet(tmp_path / "c" / "sessions.parquet")
    assert stored["session_id"].dtype == "int64" and stored["pathologies"].iloc[2].tolist() == ["Laryngitis"]


def test_fail_mode_stops_at_bad_input(tmp_path):
    root = tmp_path / "svd"
    table(row(1, 1), row(2, 2)).to_csv(tmp_path / "m.csv", index=False)
    write_tone(root / "1-phrase.wav")
    (root / "2-phrase.wav").parent.mkdir(exist_ok=True)
    (root / "2-phrase.wav").write_bytes(b"RIFF")
    with pytest.raises(ValueError, match="session 2: 2-phrase.wav: unreadable"):
        build_catalog(tmp_path / "m.csv", root, tmp_path / "s.parquet", tmp_path / "e.tsv", on_bad_input="fail")


def test_paths_in_metadata_never_leave_the_data_root(tmp_path):
    root = tmp_path / "svd"
    write_tone(root / "ok" / "1.wav")
    write_tone(tmp_path / "secret.wav")
    (root / "link.wav").symlink_to(tmp_path / "secret.wav")
    metadata = table(row(1, 1), row(2, 2), row(3, 3), row(4, 4))
    metadata["file"] = ["ok/1.wav", "../secret.wav", str(tmp_path / "secret.wav"), "link.wav"]
    metadata.to_csv(tmp_path / "m.csv", index=False)
    sessions, excluded = build_catalog(tmp_path / "m.csv", root, tmp_path / "s.parquet", tmp_path / "e.tsv")
    assert list(sessions["session_id"]) == [1]
    why = reasons(excluded)
    assert all("leaves the data root" in why[s] for s in ("2", "3", "4"))


def test_an_empty_catalog_fails_with_the_commonest_reasons(tmp_path):
    root = tmp_path / "svd"
    table(row(1, 1), row(2, 2), row(3, 3), row(4, 4)).to_csv(tmp_path / "m.csv", index=False)
    root.mkdir()
    for session in (1, 2, 3):
        (root / f"{session}-phrase.wav").write_bytes(b"")
    with pytest.raises(ValueError) as raised:
        build_catalog(tmp_path / "m.csv", root, tmp_path / "s.parquet", tmp_path / "e.tsv")
    message = str(raised.value)
    assert message.startswith("the catalog is empty: all 4 sessions were excluded")
    assert "the commonest reasons: empty file (N bytes) (3); no phrase recording found under the data root (1)" in message
    assert "\n" not in message
