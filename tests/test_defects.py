"""The official archive's known defects, on synthetic NSP files built like them: a swapped
voice/EGG pair, a file with zeroed size fields, sbvoicedb's `-fixed.nsp` copy beside its
original, and a swap the table does not know. Each session ends with the voice signal,
repaired, or excluded with a reason; the data folder is never written to."""
import hashlib

import numpy as np
import pytest
import soundfile
from scipy.signal import lfilter

from svd_explain.audio import BadRecording, brightness, check_recording, read_recording, resample_recording
from svd_explain.catalog import build_catalog, default_metadata, read_metadata, sessions_from_metadata
from svd_explain.defects import egg_file, phrase_voice, read_known_defects
from svd_explain.nsp import missing_sizes, rebuild_sizes, write_nsp

RATE = 50000
FIVE = [139, 141, 713, 980, 1697]


def resonator(frequency, bandwidth, rate=RATE):
    """A second-order resonance (a formant) as IIR coefficients."""
    r = np.exp(-np.pi * bandwidth / rate)
    theta = 2 * np.pi * frequency / rate
    return [1 - r], [1, -2 * r * np.cos(theta), r * r]


def voice_and_egg(seed, f0=120.0, seconds=2.0, closing_ms=1.0):
    """A voice and the electroglottograph signal recorded with it, from one train of glottal
    cycles: the EGG is the vocal folds' contact (rising over `closing_ms` at closure, falling
    slowly as they open); the voice is the derivative of the air flow through the opening,
    shaped by three formants, with a fricative burst (/s/) in the middle."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    contact = np.zeros(n)
    t = 0.0
    while t < seconds:
        period = 1.0 / (f0 * (1 + 0.01 * rng.standard_normal()))
        start, length = int(t * RATE), int(period * RATE)
        phase = np.arange(length) / length
        cycle = np.ones(length)
        opening, open_quotient = 0.35, 0.6
        cycle[phase < opening] = 0.5 * (1 + np.cos(np.pi * phase[phase < opening] / opening))
        cycle[(phase >= opening) & (phase < open_quotient)] = 0.0
        rise = closing_ms / 1000 / period
        closing = (phase >= open_quotient) & (phase < open_quotient + rise)
        cycle[closing] = 0.5 * (1 - np.cos(np.pi * (phase[closing] - open_quotient) / rise))
        contact[start:start + length] = cycle[: n - start]
        t += period
    voiced = np.zeros(n)
    voiced[int(0.2 * RATE):int(1.8 * RATE)] = 1.0
    contact *= voiced
    flow = (1 - contact) * voiced
    voice = np.diff(flow, prepend=0.0)
    for frequency, bandwidth in ((600, 80), (1400, 100), (2600, 140)):
        voice = lfilter(*resonator(frequency, bandwidth), voice)
    burst = slice(int(1.0 * RATE), int(1.12 * RATE))
    noise = rng.standard_normal(burst.stop - burst.start)
    voice[burst] = np.abs(voice).max() * lfilter(*resonator(6000, 2000), noise)
    voice = 0.5 * voice / np.abs(voice).max()
    egg = 0.5 * contact + 1e-4 * rng.standard_normal(n)
    return to_int16(voice), to_int16(egg)


def to_int16(samples):
    return np.round(np.clip(samples, -1, 1) * 32767).astype(np.int16)


def zero_sizes(path):
    """Zero an NSP file's size fields, as in the archive's session 713."""
    data = bytearray(path.read_bytes())
    data[8:12] = bytes(4)
    sda = data.find(b"SDA_") + 4
    data[sda:sda + 4] = bytes(4)
    data[0x2C:0x30] = bytes(4)
    path.write_bytes(bytes(data))


def archive_session(root, session, voice, egg, nsp_holds="voice", fixed=None, zeroed=False):
    """data/<s>/sentnces/<s>-phrase.nsp and -phrase-egg.egg, as in the official archive."""
    folder = root / "data" / str(session) / "sentnces"
    folder.mkdir(parents=True, exist_ok=True)
    nsp, egg_path = folder / f"{session}-phrase.nsp", folder / f"{session}-phrase-egg.egg"
    first, second = (voice, egg) if nsp_holds == "voice" else (egg, voice)
    write_nsp(nsp, first, RATE)
    write_nsp(egg_path, second, RATE)
    if zeroed:
        zero_sizes(nsp)
        zero_sizes(egg_path)
    if fixed is not None:  # sbvoicedb's repaired copies beside the originals
        write_nsp(folder / f"{session}-phrase-fixed.nsp", fixed[0], RATE)
        write_nsp(folder / f"{session}-phrase-egg-fixed.egg", fixed[1], RATE)
    return nsp


def folder_state(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def real_rows(sessions):
    table = read_metadata(default_metadata())
    return table.loc[table["AufnahmeID"].astype(int).isin(sessions)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """An archive of synthetic sessions with the real ids of the known defects, and others."""
    root = tmp_path_factory.mktemp("svd") / "svd"
    pairs = {s: voice_and_egg(i, f0=100 + 15 * i) for i, s in enumerate([139, 141, 713, 980, 1697, 1, 2, 3])}
    pairs[4] = voice_and_egg(8, f0=100, closing_ms=2.0)
    archive_session(root, 139, *pairs[139], nsp_holds="egg")
    archive_session(root, 980, *pairs[980], nsp_holds="egg")
    # 1697: swapped, and sbvoicedb has written its repaired copies (voice, EGG) beside them.
    archive_session(root, 1697, *pairs[1697], nsp_holds="egg", fixed=pairs[1697])
    # 141: only sbvoicedb's repaired copy is left.
    archive_session(root, 141, *pairs[141], nsp_holds="egg", fixed=pairs[141])
    (root / "data" / "141" / "sentnces" / "141-phrase.nsp").unlink()
    archive_session(root, 713, *pairs[713], zeroed=True)
    archive_session(root, 1, *pairs[1])  # intact
    archive_session(root, 2, *pairs[2], nsp_holds="egg")  # a swap the table does not know
    archive_session(root, 3, *pairs[3], zeroed=True)  # incomplete, not a known defect
    # 4: a legacy WAV export of an EGG signal, with no EGG file to compare it with.
    soundfile.write(root / "4-phrase.wav", pairs[4][1], RATE, subtype="PCM_16")
    metadata = root.parent / "summary.csv"
    real_rows(FIVE + [1, 2, 3, 4]).to_csv(metadata, index=False)
    return root, metadata, pairs


def catalog(archive, tmp_path, **options):
    root, metadata, _ = archive
    before = folder_state(root)
    sessions, excluded = build_catalog(
        metadata, root, tmp_path / "sessions.parquet", tmp_path / "excluded.tsv", sessions="all", **options
    )
    assert folder_state(root) == before, "the catalog wrote into the data folder"
    return sessions.set_index("session_id"), dict(zip(excluded["session_id"].astype(int), excluded["reason"]))


def resampled(sessions, session, tmp_path):
    row = sessions.loc[session]
    out = tmp_path / f"{session}.wav"
    resample_recording(row["source"], out, 16000, rebuild_nsp_sizes=row["repair"] == "incomplete_nsp")
    return soundfile.read(out)[0]


def expected(voice, tmp_path, name):
    source = tmp_path / f"{name}.wav"
    soundfile.write(source, voice, RATE, subtype="PCM_16")
    resample_recording(source, tmp_path / f"{name}-16k.wav", 16000)
    return soundfile.read(tmp_path / f"{name}-16k.wav")[0]


def test_each_session_ends_with_its_voice_repaired_or_excluded(archive, tmp_path):
    sessions, why = catalog(archive, tmp_path)
    _, _, pairs = archive
    assert sorted(sessions.index) == [1, 139, 141, 713, 980, 1697]
    repairs = sessions["repair"].to_dict()
    assert repairs == {1: "none", 139: "swapped_egg", 141: "none", 713: "incomplete_nsp", 980: "swapped_egg", 1697: "swapped_egg"}
    assert sessions.loc[139, "source"].endswith("139-phrase-egg.egg")
    assert sessions.loc[1697, "source"].endswith("1697-phrase-egg.egg"), "the original, not sbvoicedb's copy"
    assert sessions.loc[141, "source"].endswith("141-phrase-fixed.nsp")
    for session in sessions.index:
        got = resampled(sessions, session, tmp_path)
        want = expected(pairs[session][0], tmp_path, f"voice-{session}")
        assert np.allclose(got, want, atol=1 / 32768), f"session {session} does not end with its voice"
    assert sessions.loc[713, "duration_s"] == pytest.approx(2.0)

    assert set(why) == {2, 3, 4}
    assert "not a known defect" in why[2] and "looks like an electroglottograph signal" in why[2]
    assert "2-phrase-egg.egg like the voice" in why[2]
    assert "size fields are zero" in why[3] and "not repaired" in why[3]
    assert "looks like an electroglottograph (EGG) signal" in why[4]


def test_known_defects_can_be_excluded_instead(archive, tmp_path):
    sessions, why = catalog(archive, tmp_path, known_defects="exclude")
    assert sorted(sessions.index) == [1, 141]  # 141's repaired copy is read as it is
    for session in (139, 713, 980, 1697):
        assert f"known archive defect, session {session}:" in why[session]
        assert "catalog.known_defects = exclude" in why[session]
    assert "lack their size fields" in why[713] and "hold the electroglottograph signal" in why[139]


def test_a_session_counts_once_with_sbvoicedbs_copies_beside_it(archive, tmp_path):
    sessions, why = catalog(archive, tmp_path)
    assert 1697 in sessions.index and 1697 not in why
    assert not sessions["source"].str.contains("1697-phrase-fixed").any()


def test_the_table_lists_the_five_sessions_from_sbvoicedb():
    defects = read_known_defects()
    assert sorted(defects) == sorted(FIVE)
    assert {s for s, d in defects.items() if d.defect == "swapped_egg"} == {139, 141, 980, 1697}
    assert defects[713].defect == "incomplete_nsp"
    assert all(d.phrase for d in defects.values())


def test_the_five_sessions_are_selected_as_in_the_study():
    """All five are their speakers' first sessions: the study's selection keeps them."""
    sessions, _ = sessions_from_metadata(default_metadata())
    chosen = sessions.loc[sessions["session_id"].isin(FIVE)].set_index("session_id")
    assert sorted(chosen.index) == FIVE
    assert chosen["status"].to_dict() == {
        139: "pathological", 141: "pathological", 713: "pathological", 980: "healthy", 1697: "healthy",
    }


def test_rebuilt_sizes_match_the_intact_file(tmp_path):
    voice, _ = voice_and_egg(5)
    intact = tmp_path / "intact.nsp"
    write_nsp(intact, voice, RATE)
    broken = tmp_path / "broken.nsp"
    broken.write_bytes(intact.read_bytes())
    zero_sizes(broken)
    assert missing_sizes(broken.read_bytes()) and not missing_sizes(intact.read_bytes())
    assert rebuild_sizes(broken.read_bytes()) == intact.read_bytes()
    with pytest.raises(BadRecording, match="size fields are zero"):
        read_recording(broken)
    samples, rate = read_recording(broken, rebuild_nsp_sizes=True)
    assert rate == RATE and np.array_equal(samples[:, 0], voice / 32768.0)


@pytest.mark.parametrize("f0", [90, 140, 220])
@pytest.mark.parametrize("closing_ms", [0.3, 0.6, 1.0, 2.0])
def test_the_voice_is_brighter_than_its_egg(tmp_path, f0, closing_ms):
    """The pair comparison holds across pitches and closure speeds, even where an EGG with a
    fast closure is as bright as a dark voice would be."""
    voice, egg = voice_and_egg(f0, f0=f0, closing_ms=closing_ms)
    assert brightness(voice.astype(float), RATE) > 4 * brightness(egg.astype(float), RATE)
    nsp = archive_session(tmp_path, 7, voice, egg, nsp_holds="egg")
    with pytest.raises(BadRecording, match="not a known defect"):
        phrase_voice(7, nsp, {})
    chosen = phrase_voice(7, nsp, {7: _swap(7)})
    assert chosen.repair == "swapped_egg" and chosen.path == egg_file(nsp)


def _swap(session):
    from svd_explain.defects import KnownDefect

    return KnownDefect(session, "swapped_egg", True, "test")


def test_a_known_swap_already_fixed_in_the_copy_is_read_as_it_is(tmp_path):
    voice, egg = voice_and_egg(11)
    nsp = archive_session(tmp_path, 139, voice, egg)  # the copy holds the voice where it should
    chosen = phrase_voice(139, nsp, {139: _swap(139)})
    assert chosen.path == nsp and chosen.repair == "none" and "not in this copy" in chosen.note


def test_a_known_swap_with_two_alike_files_is_excluded(tmp_path):
    _, egg = voice_and_egg(12)
    nsp = archive_session(tmp_path, 139, egg, egg)
    with pytest.raises(BadRecording, match="cannot tell which holds the voice"):
        phrase_voice(139, nsp, {139: _swap(139)})


def test_speech_passes_the_absolute_check_and_a_slow_egg_does_not():
    voice, egg = voice_and_egg(3, closing_ms=2.0)
    check_recording(voice.astype(float)[:, None] / 32768, RATE, 0.5, 30)
    with pytest.raises(BadRecording, match="electroglottograph"):
        check_recording(egg.astype(float)[:, None] / 32768, RATE, 0.5, 30)
