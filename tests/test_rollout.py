import numpy as np
import pandas as pd
import pytest
import soundfile
import torch
from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

from svd_explain import features, rollout

torch.set_num_threads(1)

MAX_LENGTH = 206  # 20 time patches × 12 frequency patches + 2 special tokens = 242 tokens


def tiny_model(layers=3, seed=0):
    """A small AST whose attention is far from uniform: random position, CLS and distillation
    embeddings (transformers initialises them to zero), and query and key projections large
    enough for peaked attention (at the default initialisation every head is nearly uniform,
    and so is every rollout)."""
    config = ASTConfig(
        hidden_size=32, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=64,
        max_length=MAX_LENGTH, num_labels=2, id2label={0: "healthy", 1: "pathological"},
        label2id={"healthy": 0, "pathological": 1},
    )
    torch.manual_seed(seed)
    model = ASTForAudioClassification(config).eval()
    embeddings = model.audio_spectrogram_transformer.embeddings
    with torch.no_grad():
        for parameter in (embeddings.position_embeddings, embeddings.cls_token, embeddings.distillation_token):
            parameter.normal_(0, 1)
        for name, parameter in model.named_parameters():
            if name.endswith(("q_proj.weight", "k_proj.weight")):
                parameter.normal_(0, 0.3)
    return model


def direct_maps(model, inputs, head_fusion, tokens):
    """The reference: eager attention, output_attentions, full matrix products, one recording
    at a time (so that batching is checked too)."""
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    maps = []
    with torch.no_grad():
        for one in inputs:
            attentions = model(one[None], output_attentions=True).attentions
            assert len(attentions) == model.config.num_hidden_layers
            patches = rollout.direct_rollout(attentions, head_fusion, tokens)
            maps.append(rollout.patches_to_spectrogram(patches, model.config)[0].numpy())
    model.set_attn_implementation(previous)
    return np.stack(maps)


def relative(maps):
    """Maps scaled so that the mean covered cell is 1: a tolerance on this scale means the
    same whatever the number of patches."""
    return maps / np.nanmean(maps, axis=(1, 2), keepdims=True)


@pytest.mark.parametrize("head_fusion", rollout.HEAD_FUSIONS)
@pytest.mark.parametrize("tokens", sorted(rollout.TOKEN_ROWS))
def test_batched_hook_rollout_matches_the_direct_definition(head_fusion, tokens):
    model = tiny_model()
    inputs = torch.randn(3, MAX_LENGTH, 128, generator=torch.Generator().manual_seed(1))
    _, maps = rollout.relevance_maps(model, inputs, head_fusion, tokens)
    reference = direct_maps(model, inputs, head_fusion, tokens)
    assert maps.shape == reference.shape == (3, 128, MAX_LENGTH)
    np.testing.assert_array_equal(np.isnan(maps), np.isnan(reference))
    assert np.nanmax(np.abs(relative(maps) - relative(reference))) < 1e-5


def test_the_comparison_is_sensitive_to_the_usual_mistakes():
    """Rolling out in the wrong layer order, or without renormalising rows, moves the maps by
    far more than the tolerance above."""
    model = tiny_model()
    inputs = torch.randn(2, MAX_LENGTH, 128, generator=torch.Generator().manual_seed(2))
    model.set_attn_implementation("eager")
    with torch.no_grad():
        attentions = model(inputs, output_attentions=True).attentions
    right = rollout.direct_rollout(attentions).numpy()
    reversed_order = rollout.direct_rollout(attentions[::-1]).numpy()
    assert np.abs(relative(right[None]) - relative(reversed_order[None])).max() > 1e-3
    # max fusion: rows no longer sum to 1, so skipping the renormalisation changes the result
    fused = [rollout.fuse_heads(a.double(), "max") + torch.eye(a.shape[-1], dtype=torch.float64) for a in attentions]
    unnormalised = fused[1] @ fused[0]
    start = torch.zeros(2, 1, fused[0].shape[-1], dtype=torch.float64)
    start[:, 0, :2] = 0.5
    wrong = (start @ unnormalised)[:, 0, 2:].numpy()
    right_max = rollout.direct_rollout(attentions, "max").numpy()
    assert np.abs(relative(right_max[None]) - relative(wrong[None])).max() > 1e-3


def test_capture_keeps_only_fused_matrices_and_restores_the_model():
    model = tiny_model(layers=2)
    inputs = torch.randn(2, MAX_LENGTH, 128, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        plain = model(inputs).logits
    before = model.config._attn_implementation
    with torch.no_grad(), rollout.captured_fused_attention(model, "mean") as captured:
        logits = model(inputs).logits
    assert [tuple(c.shape) for c in captured] == [(2, 242, 242)] * 2  # no heads axis
    torch.testing.assert_close(captured[0].sum(-1), torch.ones(2, 242))
    torch.testing.assert_close(logits, plain, atol=1e-5, rtol=1e-5)
    assert model.config._attn_implementation == before
    assert all(not m._forward_hooks for m in rollout.attention_modules(model))


def test_attention_modules_are_found_by_class():
    model = tiny_model(layers=3)
    modules = rollout.attention_modules(model)
    assert len(modules) == 3
    assert all(type(m).__name__ == "ASTAttention" for m in modules)
    with pytest.raises(TypeError):
        rollout.attention_modules(torch.nn.Linear(2, 2))


def test_rollout_refuses_bad_settings():
    model = tiny_model(layers=1)
    inputs = torch.zeros(1, MAX_LENGTH, 128)
    with pytest.raises(ValueError, match="head_fusion"):
        rollout.relevance_maps(model, inputs, "median")
    with pytest.raises(ValueError, match="tokens"):
        rollout.relevance_maps(model, inputs, "mean", "patch")
    model.config.attention_probs_dropout_prob = 0.1
    model.audio_spectrogram_transformer.layers[0].attention.attention_dropout = 0.1
    model.train()
    with pytest.raises(RuntimeError, match="eval mode"):
        rollout.relevance_maps(model, inputs)


def test_patches_map_back_onto_the_spectrogram_grid():
    config = tiny_model(layers=1).config
    f_dim, t_dim = 12, 20
    patch = torch.zeros(1, f_dim * t_dim, dtype=torch.float64)
    fi, ti = 3, 5
    patch[0, fi * t_dim + ti] = 1.0  # frequency-major token order
    grid = rollout.patches_to_spectrogram(patch, config)[0].numpy()
    covered = np.argwhere(grid > 0)
    assert covered[:, 0].min() == 10 * fi and covered[:, 0].max() == 10 * fi + 15
    assert covered[:, 1].min() == 10 * ti and covered[:, 1].max() == 10 * ti + 15
    # the patch spans bins 30–45 and frames 50–65; bins 36–39 and frames 56–59 belong to it
    # alone, bin 34 and frame 54 also to one neighbour each way: the mean over 4 patches
    assert grid[37, 57] == pytest.approx(1.0)
    assert grid[34, 54] == pytest.approx(1 / 4)
    assert grid[37, 54] == pytest.approx(1 / 2)
    assert np.isnan(grid[126:]).all() and np.isfinite(grid[:126]).all()  # no patch reaches bins 126-127
    # a constant patch relevance stays constant everywhere a patch covers
    flat = rollout.patches_to_spectrogram(torch.full((1, f_dim * t_dim), 2.0), config)[0].numpy()
    assert np.nanmin(flat) == np.nanmax(flat) == 2.0


@pytest.fixture
def model_dir(tmp_path):
    path = tmp_path / "model"
    tiny_model(layers=2).save_pretrained(path)
    ASTFeatureExtractor(max_length=MAX_LENGTH).save_pretrained(path)
    return path


def write_wavs(audio_dir, durations):
    audio_dir.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for session, seconds in durations.items():
        t = np.arange(int(seconds * 16000)) / 16000
        soundfile.write(audio_dir / f"{session}.wav", 0.3 * np.sin(2 * np.pi * 150 * t) + 0.01 * rng.standard_normal(t.size), 16000)


@pytest.mark.parametrize("splits, expected", [("test", [11, 12]), ("all", [10, 11, 12])])
def test_write_rollout_writes_one_cropped_map_per_recording(tmp_path, model_dir, splits, expected):
    write_wavs(tmp_path / "audio", {10: 1.0, 11: 1.3, 12: 2.5})  # 12 is longer than max_length
    split = tmp_path / "split.parquet"
    pd.DataFrame({"session_id": [10, 11, 12], "speaker_id": [1, 2, 3], "split": ["train", "test", "test"],
                  "label": [0, 1, 0], "sex": "female", "category": "healthy"}).to_parquet(split)
    out = tmp_path / "rollout" / "m.npz"
    rollout.write_rollout(model_dir, split, tmp_path / "audio", out, splits=splits, batch_size=2, device="cpu")
    extractor = ASTFeatureExtractor.from_pretrained(model_dir)
    with np.load(out, allow_pickle=False) as maps:
        kinds = ("relevance", "fbank", "padding_share")
        assert sorted(maps.files) == sorted(f"{s}.{kind}" for s in expected for kind in kinds)
        for session in expected:
            relevance, fbank = maps[f"{session}.relevance"], maps[f"{session}.fbank"]
            frames = min(features.num_frames(int(soundfile.info(tmp_path / "audio" / f"{session}.wav").frames)), MAX_LENGTH)
            assert relevance.shape == fbank.shape == (128, frames)
            assert relevance.dtype == fbank.dtype == np.float32
            np.testing.assert_allclose(fbank, features.log_mel(tmp_path / "audio" / f"{session}.wav", extractor)[:MAX_LENGTH].T, rtol=1e-6)
            assert np.nanmin(relevance) > 0
            # Session 12 fills the input: nothing is padding; the shorter ones lose some mass.
            padding = float(maps[f"{session}.padding_share"])
            assert padding == 0.0 if frames == MAX_LENGTH else 0.0 < padding < 1.0


def test_padding_share_is_the_mass_after_the_recording():
    relevance = np.ones((4, 10))
    relevance[:, 7:] = 3.0
    relevance[0] = np.nan  # cells no patch covers are left out
    assert rollout.padding_share(relevance, 7) == pytest.approx(27 / (21 + 27))
    assert rollout.padding_share(relevance, 10) == 0.0


def test_write_rollout_refuses_an_unknown_split_choice(tmp_path, model_dir):
    with pytest.raises(ValueError, match="test or all"):
        rollout.write_rollout(model_dir, tmp_path / "split.parquet", tmp_path, tmp_path / "x.npz", splits="dev")
