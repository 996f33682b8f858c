"""The Kaldi GMM-HMM aligner: its pieces, then training and alignment on a small synthetic
corpus whose true boundaries are known."""
import json
from pathlib import Path

import kaldi_native_fbank as knf
import kaldifst
import numpy as np
import pytest
import soundfile

from svd_explain.align import kaldi
from svd_explain.align.accuracy import accuracy_table
from svd_explain.align.flatstart import frame_classes, phone_spans, spans_to_pdfs, spectral_measures
from svd_explain.align.lexicon import read_lexicon
from svd_explain.align.training import train_aligner
from svd_explain.audio import resample_recording
from svd_explain.synth.corpus import write_corpus
from svd_explain.textgrids import read_alignment

ROOT = Path(__file__).resolve().parents[1]
PHRASE = ROOT / "resources" / "phrase.txt"
LEXICON = ROOT / "resources" / "lexicon.txt"
RATE = 16000
PHRASE_WORDS = ["guten", "morgen", "wie", "geht", "es", "ihnen"]


# ---------------------------------------------------------------- frames and features


def test_frames_are_centred_where_frame_to_time_puts_them():
    """An impulse lights up the frames whose 25 ms window holds it; averaged over impulse
    positions, the centre of those frames is the impulse time when frame f is centred at
    (f + 0.5) * 10 ms, so the boundary between frames f - 1 and f lies at f * 10 ms."""
    opts = knf.MfccOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.snip_edges = False
    errors = []
    for impulse_ms in np.arange(300, 310, 0.5):
        samples = np.zeros(RATE, dtype=np.float32)
        samples[int(impulse_ms * RATE / 1000)] = 30000.0
        extractor = knf.OnlineMfcc(opts)
        extractor.accept_waveform(RATE, samples)
        extractor.input_finished()
        energy = np.array([extractor.get_frame(i)[0] for i in range(extractor.num_frames_ready)])
        lit = np.flatnonzero(energy > energy.min() + 10)
        centres = (kaldi.frame_to_time(lit) + kaldi.frame_to_time(lit + 1)) / 2
        errors.append(centres.mean() - impulse_ms / 1000)
    assert abs(np.mean(errors)) < 0.001
    assert kaldi.frame_to_time(37) == pytest.approx(0.37)


@pytest.mark.parametrize("num_samples", [400, 15999, 16000, 16079, 16080, 16081])
def test_feature_frames_are_counted_like_kaldi(num_samples):
    samples = np.random.default_rng(0).normal(0, 0.1, num_samples)
    feats = kaldi.mfcc_features(samples, RATE)
    assert feats.shape == (kaldi.num_frames(num_samples, RATE), 39)
    assert np.allclose(feats.mean(axis=0), 0, atol=1e-3)


def test_features_are_reproducible():
    samples = np.random.default_rng(1).normal(0, 0.1, RATE)
    assert np.array_equal(kaldi.mfcc_features(samples, RATE), kaldi.mfcc_features(samples, RATE))


# ---------------------------------------------------------------- lexicon graph


def lexicon_paths(fst, max_arcs=8):
    """{(phones, words): cost} of every path through a lexicon FST, phones and words as ids."""
    paths = {}
    todo = [(fst.start, (), (), 0.0)]
    while todo:
        state, phones, words, cost = todo.pop()
        final = fst.final(state).value
        if np.isfinite(final):
            paths[(phones, words)] = cost + final
        if len(phones) + len(words) > max_arcs:
            continue
        for arc in kaldifst.ArcIterator(fst, state):
            todo.append((
                arc.nextstate,
                phones + ((arc.ilabel,) if arc.ilabel else ()),
                words + ((arc.olabel,) if arc.olabel else ()),
                cost + arc.weight.value,
            ))
    return paths


def test_lexicon_fst_makes_silence_optional_before_between_and_after_words():
    lang = kaldi.Lang({"ab": ("a", "b"), "c": ("c",)})
    sil, a, b, c = (lang.phone_id[p] for p in ("sil", "a", "b", "c"))
    ab, cw = lang.word_id["ab"], lang.word_id["c"]
    p = 0.25
    yes, no = -np.log(p), -np.log(1 - p)
    paths = lexicon_paths(lang.lexicon_fst(p))
    assert paths[((c,), (cw,))] == pytest.approx(2 * no)
    assert paths[((sil, c), (cw,))] == pytest.approx(yes + no)
    assert paths[((c, sil), (cw,))] == pytest.approx(no + yes)
    assert paths[((sil, a, b, sil, c, sil), (ab, cw))] == pytest.approx(3 * yes)
    assert paths[((a, b, c), (ab, cw))] == pytest.approx(3 * no)
    # Silence comes alone: never twice in a row, never inside a word.
    assert not any(s1 == s2 == sil for phones, _ in paths for s1, s2 in zip(phones, phones[1:]))
    assert not any((a, sil, b) == phones[i:i + 3] for phones, _ in paths for i in range(len(phones)))


@pytest.mark.parametrize("probability", [0.0, 1.0, 1.5])
def test_silence_probability_must_be_a_probability(probability):
    with pytest.raises(ValueError, match="silence probability"):
        kaldi.Lang({"c": ("c",)}).lexicon_fst(probability)


def test_the_silence_phone_name_is_reserved():
    with pytest.raises(ValueError, match="silence phone"):
        kaldi.Lang({"c": ("sil",)})


# ---------------------------------------------------------------- model pieces


def tiny_model(lexicon, dim=3):
    return kaldi.GmmHmm.initial(kaldi.Lang(lexicon), np.zeros(dim), np.ones(dim))


def transition(model, phone, state, self_loop):
    """A transition-id leaving `state` of `phone`: its self-loop or a forward transition."""
    pdf = model.state_pdfs(phone)[state]
    for tid in range(1, len(model.pdf_of_transition)):
        if (
            model.pdf_of_transition[tid] == pdf
            and model.trans_model.is_self_loop(tid) == self_loop
            and model.lang.phones[model.phone_of_transition[tid] - 1] == phone
        ):
            return tid
    raise AssertionError(f"no transition for {phone} state {state}")


def frames_of(model, phone, frames_per_state):
    """Transition-ids of one pass through a phone's HMM, `frames_per_state` frames per state."""
    tids = []
    for state, count in enumerate(frames_per_state):
        tids += [transition(model, phone, state, True)] * (count - 1) + [transition(model, phone, state, False)]
    return tids


def test_phone_segments_keep_repeated_phones_apart():
    model = tiny_model({"aa": ("a", "a"), "b": ("b",)})
    alignment = (
        frames_of(model, "sil", [2, 1, 1, 1, 1])
        + frames_of(model, "a", [1, 2, 1])
        + frames_of(model, "a", [3, 1, 1])
        + frames_of(model, "b", [1, 1, 1])
    )
    assert model.phone_segments(np.array(alignment)) == [("sil", 0, 6), ("a", 6, 10), ("a", 10, 15), ("b", 15, 18)]
    with pytest.raises(ValueError, match="does not end"):
        model.phone_segments(np.array(alignment[:-1]))


def test_segments_become_words_and_phones_in_seconds():
    model = tiny_model({"aa": ("a", "a"), "b": ("b",)})
    segments = [("sil", 0, 6), ("a", 6, 10), ("a", 10, 15), ("sil", 15, 20), ("b", 20, 31)]
    words, phones = kaldi.segments_to_alignment(model, segments, ["aa", "b"], duration=0.305)
    assert [(p.label, p.start, p.end) for p in phones] == [
        ("a", 0.06, 0.10), ("a", 0.10, 0.15), ("b", 0.20, 0.305)
    ]
    assert [(w.label, w.start, w.end) for w in words] == [("aa", 0.06, 0.15), ("b", 0.20, 0.305)]
    with pytest.raises(ValueError, match="do not spell"):
        kaldi.segments_to_alignment(model, segments, ["b", "aa"], duration=0.31)


def test_a_saved_model_loads_with_its_gmms_and_trained_transitions(tmp_path):
    model = tiny_model({"ab": ("a", "b")})
    rng = np.random.default_rng(3)
    # Re-estimate from made-up statistics so that GMMs and transitions leave their defaults.
    alignment = np.array(frames_of(model, "a", [4, 2, 3]) + frames_of(model, "b", [2, 5, 1]))
    feats = rng.normal(size=(len(alignment), 3)).astype(np.float32) + model.pdf_of_transition[alignment][:, None]
    accs, _ = model.accumulate([feats] * 20, [model.pdf_of_transition[alignment]] * 20)
    counts = np.bincount(np.tile(alignment, 20), minlength=len(model.pdf_of_transition)).astype(float)
    model.update(accs, counts)
    model.split([200.0] * model.am.num_pdfs, 2, np.random.default_rng(0))
    model.save(tmp_path / "model", {"sample_rate": RATE, "silence_probability": 0.5})

    loaded, settings = kaldi.GmmHmm.load(tmp_path / "model")
    assert settings == {"format": kaldi.MODEL_FORMAT, "sample_rate": RATE, "silence_probability": 0.5}
    assert np.allclose(loaded.trans_model.log_probs, model.trans_model.log_probs, atol=1e-6)
    assert not np.allclose(model.trans_model.log_probs[1:], kaldi.GmmHmm.initial(model.lang, np.zeros(3), np.ones(3)).trans_model.log_probs[1:])
    for pdf in range(model.am.num_pdfs):
        assert loaded.am.num_gauss_in_pdf(pdf) == model.am.num_gauss_in_pdf(pdf) == 2
        for frame in feats[:5]:
            assert loaded.am.log_likelihood(pdf, frame) == pytest.approx(model.am.log_likelihood(pdf, frame), rel=1e-6, abs=1e-3)
    assert {p.name for p in (tmp_path / "model").iterdir()} == {"phones.txt", "words.txt", "lexicon.txt", "topo", "gmm.npz", "model.json"}
    with np.load(tmp_path / "model" / "gmm.npz", allow_pickle=False) as arrays:
        assert arrays["means"].shape == (2 * model.am.num_pdfs, 3)


def test_a_model_of_another_format_is_refused(tmp_path):
    model = tiny_model({"ab": ("a", "b")})
    model.save(tmp_path / "model", {"sample_rate": RATE, "silence_probability": 0.5})
    settings = json.loads((tmp_path / "model" / "model.json").read_text())
    (tmp_path / "model" / "model.json").write_text(json.dumps({**settings, "format": 99}))
    with pytest.raises(ValueError, match="model format 99"):
        kaldi.GmmHmm.load(tmp_path / "model")


# ---------------------------------------------------------------- flat start


def test_phone_spans_pin_plosives_nasals_fricatives_and_pauses():
    phones = ["ɡ", "uː", "t", "ə", "n", "ɛ", "s"]
    segments = [
        ("sil", 0, 10), ("closure", 10, 14), ("release", 14, 16), ("sonorant", 16, 30),
        ("closure", 30, 35), ("release", 35, 37), ("sonorant", 37, 41), ("nasal", 41, 48),
        ("sil", 48, 70), ("sonorant", 70, 80), ("frication", 80, 95), ("sil", 95, 99),
    ]
    assert phone_spans(segments, phones) == [(10, 16), (16, 30), (30, 37), (37, 41), (41, 48), (70, 80), (80, 95)]


def test_phone_spans_share_sonorant_stretches_by_typical_duration():
    # ɔ (short vowel, 70 ms) and ʁ (approximant, 55 ms) share 25 frames: 14 and 11.
    phones = ["t", "ɔ", "ʁ", "t"]
    segments = [
        ("closure", 0, 5), ("release", 5, 7), ("sonorant", 7, 10), ("sonorant", 10, 32),
        ("closure", 32, 36), ("release", 36, 40),
    ]
    assert phone_spans(segments, phones) == [(0, 7), (7, 21), (21, 32), (32, 40)]


def test_phone_spans_reject_a_segmentation_of_another_phrase():
    with pytest.raises(ValueError, match="does not follow"):
        phone_spans([("sonorant", 0, 10)], ["t"])
    with pytest.raises(ValueError, match="does not follow"):
        phone_spans([("closure", 0, 5), ("release", 5, 9)], ["t", "ə"])


def test_spans_become_state_pdfs_with_silence_around_and_between():
    model = tiny_model({"ab": ("a", "b")})
    pdfs = spans_to_pdfs(model, ["a", "b"], [(2, 8), (10, 13)], 15)
    sil, a, b = (model.state_pdfs(p) for p in ("sil", "a", "b"))
    assert list(pdfs[2:8]) == [a[0], a[0], a[1], a[1], a[2], a[2]]
    assert list(pdfs[10:13]) == b
    assert set(pdfs[:2]) | set(pdfs[8:10]) | set(pdfs[13:]) <= set(sil)


def harmonics(duration_s, f0, bands, rng):
    """A voiced sound: harmonics of f0, those inside the (low, high) `bands` at full level."""
    t = np.arange(int(duration_s * RATE)) / RATE
    out = np.zeros_like(t)
    for k in range(1, int(7500 / f0)):
        gain = 1.0 if any(low <= k * f0 < high for low, high in bands) else 0.003
        out += gain * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    return out / np.abs(out).max()


def test_frame_classes_recognise_silence_closure_frication_nasal_and_vowel():
    rng = np.random.default_rng(5)
    noise = np.fft.irfft(np.fft.rfft(rng.normal(size=int(0.15 * RATE))) * (np.fft.rfftfreq(int(0.15 * RATE), 1 / RATE) > 3500))
    parts = {
        "silence": np.zeros(int(0.3 * RATE)),
        "vowel": 0.5 * harmonics(0.2, 140, [(500, 900), (1100, 1500), (2400, 2700)], rng),
        "closure": np.zeros(int(0.08 * RATE)),
        "frication": 0.3 * noise / np.abs(noise).max(),
        "nasal": 0.4 * harmonics(0.2, 140, [(100, 450)], rng),
        "vowel2": 0.5 * harmonics(0.2, 140, [(500, 900), (1100, 1500), (2400, 2700)], rng),
        "silence2": np.zeros(int(0.3 * RATE)),
    }
    samples = np.concatenate(list(parts.values())) + rng.normal(0, 10 ** (-70 / 20), sum(map(len, parts.values())))
    recording = kaldi.prepare_recording("x", samples, RATE, 10)
    classes = frame_classes(recording, spectral_measures(samples, RATE))
    edges = np.cumsum([0] + [len(p) for p in parts.values()]) / RATE
    expected = {"silence": "sil", "vowel": "sonorant", "closure": "closure", "frication": "frication", "nasal": "nasal", "vowel2": "sonorant", "silence2": "sil"}
    for (name, label), start, end in zip(expected.items(), edges[:-1], edges[1:]):
        inner = slice(int(start * 100) + 3, int(end * 100) - 3)  # away from the transitions
        assert classes[label][inner].mean() > 0.8, f"{name} frames not labelled {label}"
        others = [c for c in ("closure", "frication", "nasal", "sonorant") if c != label]
        assert all(classes[c][inner].mean() < 0.2 for c in others), name


def test_silence_has_no_speech_span():
    with pytest.raises(kaldi.AlignmentFailure, match="silent"):
        kaldi.find_speech(np.full(200, -80.0) + np.random.default_rng(0).normal(0, 1, 200))


# ---------------------------------------------------------------- on a synthetic corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """30 synthetic recordings at 16 kHz with their true boundaries, and two bad ones."""
    root = tmp_path_factory.mktemp("align_corpus")
    write_corpus(root / "corpus", n_sessions=30, layout="flat", seed=13, perturbation_scale=1.0, threads=2)
    audio = root / "audio"
    audio.mkdir()
    for path in sorted((root / "corpus").glob("*-phrase.wav")):
        resample_recording(path, audio / f"{path.name.split('-')[0]}.wav", RATE)
    bad = root / "bad"
    bad.mkdir()
    soundfile.write(bad / "900001.wav", np.zeros(2 * RATE), RATE, subtype="PCM_16")
    soundfile.write(bad / "900002.wav", 0.3 * np.sin(np.arange(int(0.3 * RATE)) / 5), RATE, subtype="PCM_16")
    return root


@pytest.fixture(scope="module")
def trained(corpus):
    wavs = sorted((corpus / "audio").glob("*.wav")) + sorted((corpus / "bad").glob("*.wav"))
    summary = train_aligner(
        wavs, PHRASE, LEXICON, corpus / "model", em_iterations=10, split_at=[3, 6], max_gaussians=4,
        silence_probability=0.5, sample_rate=RATE, seed=13,
    )
    return corpus / "model", summary


def test_training_leaves_out_bad_recordings_with_their_reasons(trained):
    _, summary = trained
    excluded = summary["training"]["excluded"]
    assert set(excluded) == {"900001", "900002"}
    assert excluded["900001"].startswith("silent")
    assert excluded["900002"].startswith("too short")
    assert summary["training"]["trained_on"] == 30
    history = summary["training"]["history"]
    assert [h["iteration"] for h in history] == list(range(1, 11))
    assert history[-1]["loglike_per_frame"] > history[0]["loglike_per_frame"]
    assert history[-1]["gaussians"] > history[0]["gaussians"]


def test_aligner_finds_the_true_phone_boundaries(corpus, trained, tmp_path):
    """On 30 recordings (measured: about 90 % of the boundaries within 20 ms, median 6 ms)."""
    model_dir, _ = trained
    pairs = []
    for wav in sorted((corpus / "audio").glob("*.wav")):
        textgrid, status = tmp_path / f"{wav.stem}.TextGrid", tmp_path / f"{wav.stem}.json"
        assert kaldi.align_recording(wav, model_dir, PHRASE, textgrid, status, wav.stem)
        assert json.loads(status.read_text()) == {"session_id": int(wav.stem), "aligned": True, "reason": ""}
        words, phones, duration = read_alignment(textgrid)
        assert [w.label for w in words] == PHRASE_WORDS
        assert duration == pytest.approx(soundfile.info(str(wav)).duration, abs=1e-4)
        pairs.append((corpus / "corpus" / "truth" / f"{wav.stem}.TextGrid", textgrid))
    overall = accuracy_table(pairs).set_index("phone").loc["overall"]
    assert overall.within_20ms >= 0.8
    assert overall.median_ms <= 10


@pytest.mark.parametrize(
    "name, reason",
    [("900001", "silent: frame levels span only"), ("900002", "too short: 0.30 s; the phrase needs at least 0.66 s")],
)
def test_a_bad_recording_gets_an_empty_textgrid_and_its_reason(corpus, trained, tmp_path, name, reason):
    model_dir, _ = trained
    wav = corpus / "bad" / f"{name}.wav"
    textgrid, status = tmp_path / "x.TextGrid", tmp_path / "x.json"
    assert not kaldi.align_recording(wav, model_dir, PHRASE, textgrid, status, name)
    written = json.loads(status.read_text())
    assert written["session_id"] == int(name) and written["aligned"] is False
    assert written["reason"].startswith(reason)
    words, phones, duration = read_alignment(textgrid)
    assert words == [] and phones == []
    assert duration == pytest.approx(soundfile.info(str(wav)).duration, abs=1e-4)


def test_a_recording_without_a_path_through_the_graph_fails_with_its_reason(corpus, trained):
    """Fewer frames than the phrase's phones need (align_recording turns such a recording
    away as too short before it reaches the search): Viterbi finds no path."""
    model, settings = kaldi.GmmHmm.load(trained[0])
    samples, rate = kaldi.read_audio(sorted((corpus / "audio").glob("*.wav"))[0])
    recording = kaldi.prepare_recording("1", samples, rate, 10)
    recording.feats = recording.feats[: model.min_frames(PHRASE_WORDS) - 1]
    graph = model.graph(PHRASE_WORDS, settings["silence_probability"])
    with pytest.raises(kaldi.AlignmentFailure, match="no path through the alignment graph"):
        kaldi.align(model, graph, PHRASE_WORDS, recording)


def test_a_recording_at_another_rate_is_an_error(trained, tmp_path):
    model_dir, _ = trained
    wav = tmp_path / "1.wav"
    soundfile.write(wav, np.zeros(3 * 8000), 8000, subtype="PCM_16")
    with pytest.raises(ValueError, match="8000 Hz, the aligner expects 16000 Hz"):
        kaldi.align_recording(wav, model_dir, PHRASE, tmp_path / "1.TextGrid", tmp_path / "1.json", 1)


def test_training_needs_recordings_it_can_use(corpus, tmp_path):
    with pytest.raises(ValueError, match="only 0 usable recording"):
        train_aligner(
            sorted((corpus / "bad").glob("*.wav")), PHRASE, LEXICON, tmp_path / "model", 2, [], 1, 0.5, RATE, 13
        )
    assert read_lexicon(LEXICON)  # the lexicon itself is fine: the recordings are the problem


def test_training_is_reproducible(corpus, tmp_path):
    wavs = sorted((corpus / "audio").glob("*.wav"))[:10]
    for name in ("first", "second"):
        train_aligner(wavs, PHRASE, LEXICON, tmp_path / name, 4, [2, 3], 4, 0.5, RATE, seed=7)
    with np.load(tmp_path / "first" / "gmm.npz") as first, np.load(tmp_path / "second" / "gmm.npz") as second:
        assert first["num_gauss"].sum() > len(first["num_gauss"])  # the mixtures were split
        for name in ("num_gauss", "weights", "means", "variances"):
            assert np.array_equal(first[name], second[name])
    assert (tmp_path / "first" / "topo").read_text() == (tmp_path / "second" / "topo").read_text()
