"""The synthetic recordings and the corpus on disk."""
import numpy as np
import pytest
import soundfile

from svd_explain.audio import read_recording
from svd_explain.catalog import build_catalog, default_metadata, read_metadata, sessions_from_metadata
from svd_explain.synth import select_sessions, synthesize_recording, write_corpus
from svd_explain.synth.corpus import recording_path, to_int16, truth_path
from svd_explain.synth.phonetics import PHONES, phrase_words
from svd_explain.synth.recording import SAMPLE_RATE
from svd_explain.synth.voice import speaker_traits
from svd_explain.textgrids import read_alignment

SEED = 13
VOWELS = {label for label, phone in PHONES.items() if phone.manner == "vowel"}


@pytest.fixture(scope="module")
def sessions():
    """Catalog rows of the sessions the synthesizer can draw, by id."""
    table = read_metadata(default_metadata())
    rows, _ = sessions_from_metadata(table, sessions="all")
    chosen = set(select_sessions(None, 1982, SEED)["AufnahmeID"].astype(int))
    return rows.loc[rows["session_id"].isin(chosen)].set_index("session_id", drop=False)


def _pick(sessions, category, n, offset=0):
    rows = sessions.loc[sessions["category"] == category]
    return [row for _, row in rows.iloc[offset:offset + n * 7:7].iterrows()]


def voiced_hnr(samples, phones):
    """Median over 40 ms vowel frames of the harmonics-to-noise ratio (dB) from the peak of
    the normalised autocorrelation at lags of 60-500 Hz: lower for jitter, shimmer,
    subharmonics, breath noise and tremor."""
    values = []
    frame = int(0.04 * SAMPLE_RATE)
    for segment in phones:
        if segment.label not in VOWELS:
            continue
        start, end = int((segment.start + 0.01) * SAMPLE_RATE), int((segment.end - 0.01) * SAMPLE_RATE)
        for k in range(start, end - frame, frame // 2):
            x = samples[k:k + frame] - samples[k:k + frame].mean()
            spectrum = np.fft.rfft(x, 2 * frame)
            autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2)[:frame]
            # Unbiased: a lag of L overlaps only frame - L samples.
            autocorrelation = autocorrelation / autocorrelation[0] * frame / (frame - np.arange(frame))
            peak = autocorrelation[SAMPLE_RATE // 500:SAMPLE_RATE // 60].max()
            peak = min(peak, 0.9999)
            values.append(10 * np.log10(peak / (1 - peak)))
    return float(np.median(values))


def test_recordings_look_like_svd_phrases(sessions):
    words = phrase_words()
    expected_phones = [p for w in words for p in w.phones]
    for category in ("healthy", "organic", "non-organic"):
        for session in _pick(sessions, category, 3):
            samples, word_segments, phones = synthesize_recording(session, SEED, 1.0)
            duration = len(samples) / SAMPLE_RATE
            assert 2.0 <= duration <= 4.0
            assert np.all(np.isfinite(samples)) and np.abs(samples).max() < 1.0
            # Truth: the lexicon's words and phones in order, inside the file.
            assert [s.label for s in word_segments] == [w.text for w in words]
            assert [s.label for s in phones] == expected_phones
            bounds = np.array([(s.start, s.end) for s in phones])
            assert np.all(bounds[:, 1] > bounds[:, 0]) and np.all(bounds[1:, 0] >= bounds[:-1, 1] - 1e-9)
            assert 0.2 - 1e-6 <= phones[0].start and phones[-1].end <= duration - 0.2 + 1e-6
            for word in word_segments:
                inside = [p for p in phones if word.start - 1e-9 <= p.start < word.end]
                assert inside[0].start == word.start and inside[-1].end == word.end
            # Silence (just the noise floor) at both edges, speech in between.
            edge = int(0.15 * SAMPLE_RATE)
            speech = samples[int(phones[0].start * SAMPLE_RATE):int(phones[-1].end * SAMPLE_RATE)]
            speech_rms = np.sqrt(np.mean(speech**2))
            for silence in (samples[:edge], samples[-edge:]):
                assert 0 < np.sqrt(np.mean(silence**2)) < 0.05 * speech_rms


def test_pathological_voices_are_measurably_less_periodic(sessions):
    healthy = [voiced_hnr(*_recording(s, 1.0)) for s in _pick(sessions, "healthy", 12)]
    pathological = [
        voiced_hnr(*_recording(s, 1.0)) for s in _pick(sessions, "organic", 6) + _pick(sessions, "non-organic", 6)
    ]
    assert np.mean(healthy) - np.mean(pathological) > 1.0, (healthy, pathological)
    # ... but not trivially: the two groups overlap.
    assert max(pathological) > min(healthy)


def test_perturbation_scale_controls_the_perturbations(sessions):
    chosen = _pick(sessions, "organic", 4) + _pick(sessions, "non-organic", 4)
    unperturbed = np.array([voiced_hnr(*_recording(s, 0.0)) for s in chosen])
    perturbed = np.array([voiced_hnr(*_recording(s, 1.0)) for s in chosen])
    assert np.mean(unperturbed - perturbed) > 1.0, (unperturbed, perturbed)
    # Healthy voices have no pathological perturbation to scale.
    session = _pick(sessions, "healthy", 1)[0]
    np.testing.assert_array_equal(synthesize_recording(session, SEED, 0.0)[0], synthesize_recording(session, SEED, 1.0)[0])


def test_strong_perturbations_still_give_valid_recordings(sessions):
    for session in _pick(sessions, "organic", 2) + _pick(sessions, "non-organic", 2):
        samples, _, phones = synthesize_recording(session, SEED, 4.0)
        assert np.all(np.isfinite(samples)) and np.abs(samples).max() < 1.0
        assert 2.0 <= len(samples) / SAMPLE_RATE <= 4.0


def _recording(session, scale):
    samples, _, phones = synthesize_recording(session, SEED, scale)
    return samples, phones


def test_a_speakers_sessions_share_the_voice(sessions):
    counts = sessions["speaker_id"].value_counts()
    speaker = counts.index[counts >= 2][0]
    first, second = sessions.loc[sessions["speaker_id"] == speaker].iloc[:2].to_dict("records")
    a = speaker_traits(SEED, speaker, first["sex"], first["age"])
    b = speaker_traits(SEED, speaker, second["sex"], second["age"])
    assert a.vocal_tract_scale == b.vocal_tract_scale and a.formant_jitter == b.formant_jitter
    assert abs(a.f0_hz - b.f0_hz) < 5
    other = speaker_traits(SEED, speaker + 1, first["sex"], first["age"])
    assert other.vocal_tract_scale != a.vocal_tract_scale


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    write_corpus(root / "small", 6, "archive", SEED, 1.0)
    write_corpus(root / "large", 12, "archive", SEED, 1.0, threads=2)
    write_corpus(root / "flat", 6, "flat", SEED, 1.0)
    return root


def _session_ids(corpus):
    return read_metadata(corpus / "summary.csv")["AufnahmeID"].astype(int).to_list()


def test_archive_layout_and_summary(corpora):
    corpus = corpora / "large"
    source = default_metadata().read_text(encoding="utf-8").splitlines()
    written = (corpus / "summary.csv").read_text(encoding="utf-8").splitlines()
    assert written[0] == source[0] and set(written[1:]) <= set(source[1:]) and len(written) == 13
    for session_id in _session_ids(corpus):
        samples, rate = read_recording(recording_path(corpus, session_id, "archive"))
        assert rate == SAMPLE_RATE and samples.shape[1] == 1
        words, phones, duration = read_alignment(truth_path(corpus, session_id))
        # TextGrid times are written to 0.1 ms.
        assert duration == pytest.approx(len(samples) / SAMPLE_RATE, abs=1e-4)
        assert phones[-1].end <= duration
    # The catalog reads the corpus like a real SVD download.
    catalog, excluded = build_catalog(
        corpus / "summary.csv", corpus, corpus / "catalog.parquet", corpus / "excluded.tsv", sessions="all"
    )
    assert excluded.empty and sorted(catalog["session_id"]) == sorted(_session_ids(corpus))


def test_written_audio_is_the_synthesized_audio(corpora, sessions):
    session_id = _session_ids(corpora / "small")[0]
    samples, words, phones = synthesize_recording(sessions.loc[session_id], SEED, 1.0)
    stored, _ = read_recording(recording_path(corpora / "small", session_id, "archive"))
    np.testing.assert_array_equal(np.round(stored[:, 0] * 32768).astype(np.int16), to_int16(samples))
    stored_words, stored_phones, _ = read_alignment(truth_path(corpora / "small", session_id))
    assert [s.label for s in stored_phones] == [s.label for s in phones]
    assert np.allclose([s.start for s in stored_phones], [s.start for s in phones], atol=1e-4)


def test_recordings_do_not_depend_on_corpus_size_or_processes(corpora):
    small, large = corpora / "small", corpora / "large"
    assert set(_session_ids(small)) < set(_session_ids(large))
    for session_id in _session_ids(small):
        for path in (recording_path, lambda c, s, _: truth_path(c, s)):
            assert path(small, session_id, "archive").read_bytes() == path(large, session_id, "archive").read_bytes()


def test_another_seed_gives_other_audio(sessions):
    session = _pick(sessions, "healthy", 1)[0]
    assert not np.array_equal(synthesize_recording(session, SEED, 1.0)[0], synthesize_recording(session, SEED + 1, 1.0)[0])


def test_flat_layout_holds_the_same_audio_as_wav(corpora):
    for session_id in _session_ids(corpora / "flat"):
        path = recording_path(corpora / "flat", session_id, "flat")
        assert path.parent == corpora / "flat"
        info = soundfile.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (SAMPLE_RATE, 1, "PCM_16")
        flat, _ = read_recording(path)
        archive, _ = read_recording(recording_path(corpora / "small", session_id, "archive"))
        np.testing.assert_array_equal(flat, archive)


def test_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        write_corpus(tmp_path, 4, "archive", SEED, 1.0)
    with pytest.raises(ValueError, match="layout"):
        write_corpus(tmp_path / "new", 4, "zip", SEED, 1.0)
