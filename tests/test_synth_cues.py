"""Pathology cues planted at chosen phones: the configuration, the cue's weight over time,
perturbations confined to the cue phones, and the cue table."""
import numpy as np
import pandas as pd
import pytest

from svd_explain.catalog import default_metadata, read_metadata, sessions_from_metadata
from svd_explain.synth import select_sessions, synthesize_recording, write_corpus
from svd_explain.synth.corpus import truth_path
from svd_explain.synth.cues import ALL_PHONES, CUE_COLUMNS, CUE_RAMP_S, Cue, check_cue_phones
from svd_explain.synth.phonetics import phrase_words
from svd_explain.synth.recording import SAMPLE_RATE, session_voice
from svd_explain.synth.source import glottal_cycles
from svd_explain.synth.voice import SessionVoice, VoiceSource
from svd_explain.textgrids import read_alignment

SEED = 13
MODAL = VoiceSource(0.003, 0.0, 0.03, 0.0, 0.02, 0.6, 2.5, 5000.0, 5.0, 0.0, 0.0, 1.0)
ROUGH = VoiceSource(0.04, 0.05, 0.2, 0.1, 0.2, 0.6, 2.5, 5000.0, 5.0, 0.0, 0.0, 1.0)


@pytest.fixture(scope="module")
def sessions():
    table = read_metadata(default_metadata())
    rows, _ = sessions_from_metadata(table, sessions="all")
    chosen = set(select_sessions(None, 300, SEED)["AufnahmeID"].astype(int))
    return rows.loc[rows["session_id"].isin(chosen)].set_index("session_id", drop=False)


def _severe(sessions, n):
    """Pathological sessions with a clearly perturbed voice (severity > 0.4)."""
    rows = [row for _, row in sessions.loc[sessions["category"] != "healthy"].iterrows()]
    return [row for row in rows if session_voice(row, SEED, 1.0).severity > 0.4][:n]


def test_cue_phones_must_be_voiced_phones_of_the_phrase():
    words = phrase_words()
    assert check_cue_phones("all", words) == ALL_PHONES
    assert check_cue_phones(["uː", "ə", "uː"], words) == tuple(sorted({"ə", "uː"}))
    for bad, message in [
        (["a"], "do not occur in the phrase"),
        (["s"], "voiceless"),
        (["t", "uː"], "voiceless"),
        ([], "empty"),
        ("vowels", "must be 'all' or a list"),
    ]:
        with pytest.raises(ValueError, match=message):
            check_cue_phones(bad, words)


def test_the_cue_fades_in_and_out_around_its_phones():
    cue = Cue(((1.0, 1.1), (1.1, 1.2), (2.0, 2.05)))
    half = CUE_RAMP_S / 2
    t = np.array([0.5, 1.0 - half - 1e-6, 1.0, 1.0 + half, 1.15, 1.2, 1.2 + half + 1e-6, 2.025, 3.0])
    weight = cue.weight(t)
    np.testing.assert_allclose(weight, [0, 0, 0.5, 1, 1, 0.5, 0, 1, 0], atol=1e-6)
    # Smooth: no step larger than a raised-cosine ramp allows at 1 ms resolution.
    dense = cue.weight(np.arange(0.9, 1.3, 0.001))
    assert np.abs(np.diff(dense)).max() < np.pi / 2 * 0.001 / CUE_RAMP_S + 1e-9
    # Touching phones merge into one stretch.
    assert cue.support() == [(1.0 - half, 1.2 + half), (2.0 - half, 2.05 + half)]


def test_glottal_perturbations_follow_the_cue_weight():
    """Cycle-to-cycle period jitter is the rough voice's inside the cue and the modal one's
    outside it."""
    voice = SessionVoice(healthy=MODAL, perturbed=ROUGH, severity=1.0)
    cue = Cue(((1.0, 2.0),))
    starts, periods, _ = glottal_cycles(lambda t: 150.0, 3.0, voice, np.random.default_rng(0), cue.weight)
    relative = np.abs(np.diff(periods)) / periods[1:]
    inside = (starts[1:] > 1.05) & (starts[1:] < 1.95)
    outside = (starts[1:] < 0.95) | (starts[1:] > 2.05)
    assert np.median(relative[inside]) > 5 * np.median(relative[outside])
    assert np.median(relative[outside]) < 0.01


def _hnr_db(samples, start_s, end_s):
    """Harmonics-to-noise ratio (dB) of a stretch from the peak of its normalised
    autocorrelation at lags of 60-500 Hz: jitter, shimmer, subharmonics and breath noise lower it."""
    x = samples[int(start_s * SAMPLE_RATE):int(end_s * SAMPLE_RATE)]
    x = x - x.mean()
    n = len(x)
    autocorrelation = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * n)) ** 2)[:n]
    autocorrelation = autocorrelation / autocorrelation[0] * n / (n - np.arange(n))
    peak = min(autocorrelation[SAMPLE_RATE // 500:SAMPLE_RATE // 60].max(), 0.9999)
    return 10 * np.log10(peak / (1 - peak))


def test_planted_perturbations_stay_in_the_cue_phones(sessions):
    """Against the same session without perturbations (scale 0: its healthy-like voice), the
    cue vowel /uː/ loses periodicity, the vowels outside the cue do not."""
    inside_drop, outside_drop = [], []
    for session in _severe(sessions, 10):
        planted, _, phones = synthesize_recording(session, SEED, 1.0, cue_phones=("uː",))
        clean, _, clean_phones = synthesize_recording(session, SEED, 0.0)
        for label, drops in (("uː", inside_drop), ("ɔ", outside_drop), ("eː", outside_drop)):
            a = next(s for s in phones if s.label == label)
            b = next(s for s in clean_phones if s.label == label)
            margin_a, margin_b = 0.2 * (a.end - a.start), 0.2 * (b.end - b.start)
            drops.append(
                _hnr_db(clean, b.start + margin_b, b.end - margin_b) - _hnr_db(planted, a.start + margin_a, a.end - margin_a)
            )
    assert np.median(inside_drop) > 3.0, inside_drop
    assert abs(np.median(outside_drop)) < 1.0, outside_drop


def test_healthy_recordings_and_timing_do_not_depend_on_the_cue_phones(sessions):
    healthy = sessions.loc[sessions["category"] == "healthy"].iloc[0]
    np.testing.assert_array_equal(
        synthesize_recording(healthy, SEED, 1.0, cue_phones=("uː",))[0], synthesize_recording(healthy, SEED, 1.0)[0]
    )
    session = _severe(sessions, 1)[0]
    first = synthesize_recording(session, SEED, 1.0, cue_phones=("uː",))
    second = synthesize_recording(session, SEED, 1.0, cue_phones=("m", "ʁ"))
    assert first[1:] == second[1:] and len(first[0]) == len(second[0])
    assert not np.array_equal(first[0], second[0])


@pytest.fixture(scope="module")
def planted_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    write_corpus(root / "corpus", 10, "flat", SEED, 1.0, cue_phones=["ə", "uː"], cues_parquet=root / "cues.parquet", cues_tsv=root / "cues.tsv")
    return root


def test_the_cue_table_lists_every_planted_phone_with_its_true_times(planted_corpus):
    cues = pd.read_parquet(planted_corpus / "cues.parquet")
    assert list(cues.columns) == CUE_COLUMNS
    pd.testing.assert_frame_equal(pd.read_csv(planted_corpus / "cues.tsv", sep="\t"), cues, check_dtype=False, atol=1e-4)
    summary = read_metadata(planted_corpus / "corpus" / "summary.csv")
    assert set(cues["session_id"]) == set(summary["AufnahmeID"].astype(int))
    for session_id, rows in cues.groupby("session_id"):
        _, phones, _ = read_alignment(truth_path(planted_corpus / "corpus", session_id))
        expected = [(i, p) for i, p in enumerate(phones) if p.label in ("ə", "uː")]
        assert rows["phone_index"].tolist() == [i for i, _ in expected]
        np.testing.assert_allclose(rows["phone_start_s"], [p.start for _, p in expected], atol=1e-4)
        np.testing.assert_allclose(rows["phone_end_s"], [p.end for _, p in expected], atol=1e-4)
        np.testing.assert_allclose(rows["cue_end_s"] - rows["phone_end_s"], CUE_RAMP_S / 2, atol=2e-4)
        assert set(rows["word"]) == {"guten", "morgen", "ihnen"}
    healthy = cues["category"] == "healthy"
    assert not cues.loc[healthy, "planted"].any() and (cues.loc[healthy, "severity"] == 0).all()
    assert cues.loc[~healthy, "planted"].eq(cues.loc[~healthy, "severity"] > 0).all()
    assert cues.loc[~healthy, "planted"].any()


def test_without_perturbations_nothing_is_planted(tmp_path):
    write_corpus(tmp_path / "corpus", 6, "flat", SEED, 0.0, cue_phones=["uː"], cues_parquet=tmp_path / "cues.parquet")
    cues = pd.read_parquet(tmp_path / "cues.parquet")
    assert len(cues) == 6 and not cues["planted"].any()


def test_all_phones_lists_every_phone(tmp_path):
    write_corpus(tmp_path / "corpus", 4, "flat", SEED, 1.0, cues_parquet=tmp_path / "cues.parquet")
    cues = pd.read_parquet(tmp_path / "cues.parquet")
    n_phones = sum(len(w.phones) for w in phrase_words())
    assert cues.groupby("session_id").size().eq(n_phones).all()
    assert (cues["cue_start_s"] == cues["phone_start_s"]).all()
