"""The base checkpoint: input length, position-embedding cut, the new head, safetensors-only
loading; and the features the models read."""
import numpy as np
import pytest
import soundfile
import torch
from safetensors.torch import load_file, save_file
from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

from svd_explain import ast_model
from svd_explain.ast_model import (
    POSITION_EMBEDDINGS,
    auto_max_length,
    binary_classifier,
    load_model,
    patch_grid,
    pooled_outputs,
    set_trainable,
    random_ast,
    write_base_checkpoint,
)
from svd_explain.features import load_inputs, log_mel, num_frames, read_wav

TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "num_mel_bins": 128}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pretrained():
    return random_ast(TINY, seed=3)


def write_tone(path, seconds, rate=16000, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.2 * np.sin(2 * np.pi * 150 * t) + 0.01 * np.random.default_rng(1).standard_normal(len(t))
    soundfile.write(path, np.repeat(tone[:, None], channels, axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


@pytest.mark.parametrize(
    "frames, length",
    [(1, 16), (16, 16), (17, 26), (198, 206), (298, 306), (306, 306), (1014, 1016), (1017, 1024), (5000, 1024)],
)
def test_auto_max_length_is_the_shortest_covering_length_up_to_the_checkpoints(frames, length):
    assert auto_max_length(frames, ASTConfig()) == length
    assert length == 1024 or length % 10 == 6


def test_frames_follow_the_extractor():
    # 25 ms windows every 10 ms at 16 kHz: 2 s -> 198 frames, 3 s -> 298 (notes/ast.md).
    assert (num_frames(32000), num_frames(48000), num_frames(400)) == (198, 298, 1)


def test_the_tiny_checkpoint_is_built_from_the_seed_without_dropout(pretrained):
    again, other = random_ast(TINY, seed=3), random_ast(TINY, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(pretrained.state_dict().values(), again.state_dict().values()))
    assert not torch.equal(pretrained.classifier.dense.weight, other.classifier.dense.weight)
    assert pretrained.config.hidden_dropout_prob == pretrained.config.attention_probs_dropout_prob == 0
    assert pretrained.config.max_length == 1024
    # Distinct position embeddings (transformers would leave them at zero), as in a trained AST.
    assert pretrained.audio_spectrogram_transformer.embeddings.position_embeddings.std() > 0.01


def test_the_cut_keeps_the_pretrained_position_embeddings_of_the_middle(pretrained):
    adapted = binary_classifier(pretrained, 306, seed=5)
    old = pretrained.state_dict()[POSITION_EMBEDDINGS]
    new = adapted.state_dict()[POSITION_EMBEDDINGS]
    f_dim, t_dim = patch_grid(pretrained.config)
    assert (f_dim, t_dim, patch_grid(adapted.config)[1]) == (12, 101, 30)
    torch.testing.assert_close(new[:, :2], old[:, :2], rtol=0, atol=0)  # CLS and distillation
    # Patch (f, t) of the new grid is patch (f, t + 35) of the old one: the middle 30 of 101.
    torch.testing.assert_close(
        new[0, 2:].reshape(12, 30, -1), old[0, 2:].reshape(12, 101, -1)[:, 35:65], rtol=0, atol=0
    )


def test_only_the_output_layer_of_the_head_is_reinitialised_and_seeded(pretrained):
    adapted = binary_classifier(pretrained, 306, seed=5)
    old, new = pretrained.state_dict(), adapted.state_dict()
    for name in old:
        if name not in (POSITION_EMBEDDINGS, "classifier.dense.weight", "classifier.dense.bias"):
            assert torch.equal(old[name], new[name]), name
    assert new["classifier.dense.weight"].shape == (2, TINY["hidden_size"])
    assert not torch.equal(new["classifier.dense.weight"], old["classifier.dense.weight"])
    assert torch.equal(new["classifier.dense.weight"], binary_classifier(pretrained, 306, seed=5).classifier.dense.weight)
    assert not torch.equal(new["classifier.dense.weight"], binary_classifier(pretrained, 306, seed=6).classifier.dense.weight)
    assert torch.count_nonzero(new["classifier.dense.bias"]) == 0
    assert adapted.config.id2label == {0: "healthy", 1: "pathological"}


def test_a_real_style_checkpoint_gets_two_labels_and_a_shorter_input(pretrained, tmp_path):
    """A local save_pretrained folder with AudioSet's 527 labels, as from the Hugging Face cache."""
    audioset = ASTForAudioClassification(ASTConfig(**TINY, num_labels=527))
    audioset.audio_spectrogram_transformer.load_state_dict(pretrained.audio_spectrogram_transformer.state_dict())
    audioset.save_pretrained(tmp_path / "audioset")
    ASTFeatureExtractor().save_pretrained(tmp_path / "audioset")
    wavs = [write_tone(tmp_path / f"{i}.wav", seconds) for i, seconds in enumerate((2.0, 3.0))]
    write_base_checkpoint(str(tmp_path / "audioset"), "auto", None, 5, wavs, tmp_path / "base")
    model, extractor = load_model(tmp_path / "base")
    assert model.config.num_labels == 2 and model.config.max_length == extractor.max_length == 306
    torch.testing.assert_close(
        model.state_dict()[POSITION_EMBEDDINGS][0, 2:].reshape(12, 30, -1),
        pretrained.state_dict()[POSITION_EMBEDDINGS][0, 2:].reshape(12, 101, -1)[:, 35:65],
        rtol=0, atol=0,
    )
    torch.testing.assert_close(model.classifier.layernorm.weight, audioset.classifier.layernorm.weight)


def test_a_saved_auto_length_model_round_trips(tmp_path):
    wavs = [write_tone(tmp_path / f"{i}.wav", seconds) for i, seconds in enumerate((0.9, 1.3, 2.05))]
    write_base_checkpoint("tiny", "auto", TINY, 7, wavs, tmp_path / "base")
    assert sorted(p.name for p in (tmp_path / "base").iterdir()) == [
        "config.json", "input_length.json", "model.safetensors", "preprocessor_config.json",
    ]
    model, extractor = load_model(tmp_path / "base")
    expected = binary_classifier(random_ast(TINY, 7), 206, 7)  # longest clip: 203 frames
    assert extractor.max_length == model.config.max_length == 206
    for name, value in expected.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    inputs = load_inputs(wavs, extractor)
    assert inputs.shape == (3, 206, 128)
    model.save_pretrained(tmp_path / "again")
    extractor.save_pretrained(tmp_path / "again")
    reloaded, _ = load_model(tmp_path / "again")
    with torch.no_grad():
        torch.testing.assert_close(reloaded(inputs).logits, model(inputs).logits, rtol=0, atol=0)


def test_an_input_length_beyond_the_checkpoints_is_refused(tmp_path):
    wav = write_tone(tmp_path / "a.wav", 1.0)
    with pytest.raises(ValueError, match="exceeds the checkpoint"):
        write_base_checkpoint(str(_saved_tiny(tmp_path, max_length=512)), 1024, None, 1, [wav], tmp_path / "base")


def _saved_tiny(tmp_path, max_length):
    model = ASTForAudioClassification(ASTConfig(**TINY, max_length=max_length, num_labels=2))
    model.save_pretrained(tmp_path / "small")
    ASTFeatureExtractor(max_length=max_length).save_pretrained(tmp_path / "small")
    return tmp_path / "small"


def test_recordings_longer_than_the_cap_are_truncated_with_a_warning(tmp_path, caplog):
    wav = write_tone(tmp_path / "long.wav", 6.0)  # 598 frames
    write_base_checkpoint(str(_saved_tiny(tmp_path, max_length=406)), "auto", None, 1, [wav], tmp_path / "base")
    assert "1 of 1 recordings are longer than 406 frames" in caplog.text
    model, extractor = load_model(tmp_path / "base")
    assert load_inputs([wav], extractor).shape == (1, 406, 128)
    assert "truncated" in caplog.text


def test_pickled_weights_are_never_loaded(tmp_path):
    folder = _saved_tiny(tmp_path, max_length=1024)
    state = ASTForAudioClassification.from_pretrained(folder).state_dict()
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(OSError):
        load_model(folder)


def test_a_checkpoint_without_some_weights_is_refused(tmp_path):
    """transformers would initialise the missing position embeddings to zero, with a warning."""
    folder = _saved_tiny(tmp_path, max_length=1024)
    state = load_file(folder / "model.safetensors")
    del state[POSITION_EMBEDDINGS]
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match="position_embeddings"):
        load_model(folder)


def test_log_mel_is_the_model_input_before_padding_and_normalising(tmp_path):
    wav = write_tone(tmp_path / "a.wav", 1.0)
    extractor = ASTFeatureExtractor(max_length=106)
    fbank = log_mel(wav, extractor)
    assert fbank.shape == (98, 128) and fbank.dtype == np.float32
    inputs = load_inputs([wav], extractor)[0].numpy()
    np.testing.assert_allclose(inputs[:98], (fbank - extractor.mean) / (2 * extractor.std), rtol=1e-6)
    # Padding comes before normalising: padded frames are (0 - mean) / (2 std), not 0.
    np.testing.assert_allclose(inputs[98:], -extractor.mean / (2 * extractor.std), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message", [({"rate": 22050}, "22050 Hz"), ({"channels": 2}, "2 channels"), ({"seconds": 0.02}, "shorter than one")]
)
def test_unusable_audio_is_refused(tmp_path, kwargs, message):
    path = write_tone(tmp_path / "bad.wav", **{"seconds": 1.0, **kwargs})
    with pytest.raises(ValueError, match=message):
        read_wav(path, 16000)


def test_pooled_outputs_are_the_models_pooled_output(pretrained):
    model = binary_classifier(pretrained, 106, seed=1).eval()
    inputs = torch.randn(5, 106, 128)
    with torch.no_grad():
        expected = model.audio_spectrogram_transformer(inputs).pooler_output
    pooled = pooled_outputs(model.audio_spectrogram_transformer, inputs, 2, torch.device("cpu"))
    torch.testing.assert_close(pooled, expected)
    torch.testing.assert_close(model.classifier(pooled), model(inputs).logits)


def test_set_trainable_chooses_the_parameters(pretrained):
    model = binary_classifier(pretrained, 106, seed=1)
    head = set_trainable(model, "head", 2)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {
        "classifier.layernorm.weight", "classifier.layernorm.bias", "classifier.dense.weight", "classifier.dense.bias"
    }
    top = set_trainable(model, "top_layers", 1)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(".layers.1." in n for n in trainable) and not any(".layers.0." in n for n in trainable)
    assert "audio_spectrogram_transformer.layernorm.weight" in trainable
    everything = set_trainable(model, "all", 2)
    assert head < top < everything == sum(p.numel() for p in model.parameters())
    with pytest.raises(ValueError, match="outside"):
        set_trainable(model, "top_layers", 3)


def test_on_the_cpu_batch_sizes_are_as_configured(pretrained):
    """CPU results must not change: no larger batches, no trial step, nothing kept on a GPU."""
    cpu = torch.device("cpu")
    inputs, labels = torch.zeros(4, 1024, 128), torch.zeros(4, dtype=torch.long)
    assert ast_model.device_batch_size(8, cpu, ast_model.INFERENCE_BATCH) == 8
    assert ast_model.gpu_micro_batch(pretrained, inputs, labels, 8, 4, cpu, None) == (8, 4)
    assert not ast_model.fits_on_gpu([inputs], cpu)


def test_on_a_gpu_the_effective_batch_goes_in_as_few_passes_as_fit(pretrained, monkeypatch):
    """The largest divisor of per-device x accumulation whose trial step fits wins, down to the
    configured micro-batch (the trial itself needs a GPU: it is replaced here)."""
    tried = []

    def fits_up_to(limit):
        def trial(model, inputs, labels, size, device, precision):
            tried.append(size)
            return size <= limit
        return trial

    cuda, inputs, labels = torch.device("cuda"), torch.zeros(2, 8, 128), torch.zeros(2, dtype=torch.long)
    monkeypatch.setattr(ast_model, "_trial_step_fits", fits_up_to(20))
    assert ast_model.gpu_micro_batch(pretrained, inputs, labels, 8, 4, cuda, "bf16") == (16, 2)
    assert tried == [32, 16]
    tried.clear()
    monkeypatch.setattr(ast_model, "_trial_step_fits", fits_up_to(4))
    assert ast_model.gpu_micro_batch(pretrained, inputs, labels, 8, 4, cuda, "bf16") == (8, 4)  # as configured
    assert tried == [32, 16, 8]
    assert ast_model.device_batch_size(8, cuda, ast_model.INFERENCE_BATCH) == ast_model.INFERENCE_BATCH
    assert ast_model.device_batch_size(128, cuda, ast_model.INFERENCE_BATCH) == 128
