"""The stand-in for the AudioSet checkpoint: pretext clips, the pretraining through the real
Trainer, and the checkpoint loaded like a real one into the binary base checkpoint."""
import numpy as np
import pytest
import soundfile
import torch
from safetensors.torch import load_file

from svd_explain.ast_model import load_model, write_base_checkpoint
from svd_explain.pretrain import PRETEXT_HISTORY_COLUMNS, PretextSettings, write_pretext_checkpoint
from svd_explain.synth.pretext import FULL_VOWELS, PRETEXT_LABELS, VOWELS, babble, pretext_clip

SEED = 13
ARCHITECTURE = {
    "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
    "num_mel_bins": 128, "initializer_range": 0.1,
}
# Small (2 s inputs, 200 clips), but enough steps for the transformer to leave its plateau.
SETTINGS = PretextSettings(clips=240, dev_clips=40, max_length=206, epochs=14, learning_rate=1e-3, batch_size=8)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def test_pretext_clips_are_seeded_labelled_babble_that_fits_the_window():
    clip = pretext_clip(3, SEED, 2.0)
    again = pretext_clip(3, SEED, 2.0)
    np.testing.assert_array_equal(clip.samples, again.samples)
    assert not np.array_equal(clip.samples, pretext_clip(4, SEED, 2.0).samples)
    assert clip.samples.dtype == np.float32 and len(clip.samples) <= 2.0 * 16000
    assert np.isfinite(clip.samples).all() and np.abs(clip.samples).max() < 1
    assert clip.labels.shape == (len(PRETEXT_LABELS),)
    assert clip.labels[:2].sum() == 1 and bool(clip.labels[1]) == (clip.sex == "male")
    # Not the phrase: random syllables, each clip with a full vowel (the synthesizer's level).
    for index in range(40):
        words = babble(np.random.default_rng(index))
        phones = [p for w in words for p in w.phones]
        assert any(p in FULL_VOWELS for p in phones) and any(p in VOWELS for p in phones)
        assert [w.text for w in words] != ["guten", "morgen", "wie", "geht", "es", "ihnen"]


def test_a_window_too_short_for_the_speech_is_refused():
    with pytest.raises(ValueError, match="cannot hold"):
        pretext_clip(0, SEED, 0.3)


@pytest.fixture(scope="module")
def pretext(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretext") / "checkpoint"
    metrics = write_pretext_checkpoint(folder, ARCHITECTURE, SETTINGS, SEED, device="cpu", threads=1)
    return folder, metrics


def test_the_pretext_is_learnt_on_held_out_clips(pretext):
    folder, metrics = pretext
    history = np.genfromtxt(folder / "history.tsv", delimiter="\t", names=True)
    assert list(history.dtype.names) == PRETEXT_HISTORY_COLUMNS and len(history) == SETTINGS.epochs
    # Sex is plain in f0 and formants: the stand-in must have learnt it (chance is 0.5).
    assert metrics["sex_accuracy"] >= 0.85, metrics
    assert history["eval_loss"][-1] < history["eval_loss"][0]
    assert (folder / "learning_curve.png").stat().st_size > 10_000


def test_the_checkpoint_loads_like_a_real_one_and_becomes_the_binary_base(pretext, tmp_path):
    folder, _ = pretext
    model, extractor = load_model(folder)
    assert model.config.problem_type == "multi_label_classification"
    assert list(model.config.id2label.values()) == list(PRETEXT_LABELS)
    assert extractor.max_length == model.config.max_length == SETTINGS.max_length
    wav = tmp_path / "a.wav"
    soundfile.write(wav, np.zeros(int(1.5 * 16000), np.float32) + 0.01, 16000, subtype="PCM_16")
    write_base_checkpoint(str(folder), "auto", None, SEED, [wav], tmp_path / "base")
    base, base_extractor = load_model(tmp_path / "base")
    assert base.config.num_labels == 2 and base.config.problem_type is None
    assert base_extractor.max_length == base.config.max_length < SETTINGS.max_length
    # The encoder is the pretrained one: every weight but the position embeddings (cut) and the
    # new output layer is carried over unchanged.
    pretrained, adapted = load_file(folder / "model.safetensors"), load_file(tmp_path / "base" / "model.safetensors")
    carried = [k for k in adapted if "position_embeddings" not in k and not k.startswith("classifier.dense")]
    assert len(carried) > 20
    for key in carried:
        torch.testing.assert_close(adapted[key], pretrained[key], rtol=0, atol=0)


def test_pretraining_is_deterministic(pretext, tmp_path):
    folder, _ = pretext
    write_pretext_checkpoint(tmp_path / "again", ARCHITECTURE, SETTINGS, SEED, device="cpu", threads=1)
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == (folder / "model.safetensors").read_bytes()
    assert (tmp_path / "again" / "history.tsv").read_bytes() == (folder / "history.tsv").read_bytes()

