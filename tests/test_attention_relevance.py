"""The class-specific attention explainer (Chefer et al. 2021) against a plain transcription of
the reference code, one recording at a time."""
import numpy as np
import pytest
import torch

from svd_explain import attention_relevance, rollout
from svd_explain.ast_model import SPECIAL_TOKENS

from test_rollout import MAX_LENGTH, tiny_model

torch.set_num_threads(1)


def reference_relevance(model, one, index):
    """hila-chefer/Transformer-MM-Explainability's generate_relevance for a ViT, as written
    there (avg_heads: rule 5; apply_self_attention_rules: rule 6), for one input and class
    `index`, with AST's two special tokens averaged."""
    model.set_attn_implementation("eager")
    output = model(one[None].clone().requires_grad_(True), output_attentions=True)
    for attention in output.attentions:
        attention.retain_grad()
    one_hot = torch.zeros_like(output.logits)
    one_hot[0, index] = 1
    model.zero_grad()
    (one_hot * output.logits).sum().backward()
    n = output.attentions[0].shape[-1]
    relevance = torch.eye(n, dtype=torch.float64)
    for attention in output.attentions:
        cam = attention[0].detach().double()
        grad = attention.grad[0].double()
        cam = (grad * cam).clamp(min=0).mean(dim=0)
        relevance = relevance + cam @ relevance
    model.set_attn_implementation("sdpa")
    return ((relevance[0] + relevance[1]) / 2)[SPECIAL_TOKENS:], output.logits.detach()[0]


@pytest.mark.parametrize("target", attention_relevance.TARGETS)
def test_batched_relevance_matches_the_reference_one_recording_at_a_time(target):
    model = tiny_model()
    inputs = torch.randn(3, MAX_LENGTH, 128)
    logits, patches = attention_relevance.patch_relevance(model, inputs, target)
    assert model.config._attn_implementation == "sdpa"  # put back as it was
    assert all(p.grad is None for p in model.parameters())
    for k, one in enumerate(inputs):
        index = 1 if target == "pathological" else int(logits[k].argmax())
        expected, expected_logits = reference_relevance(model, one, index)
        assert torch.allclose(logits[k], expected_logits, atol=1e-5)
        assert torch.allclose(patches[k], expected, rtol=1e-6, atol=1e-9)


def test_the_maps_are_class_specific_and_lie_on_the_spectrogram_grid():
    model = tiny_model()
    inputs = torch.randn(2, MAX_LENGTH, 128)
    scores, pathological = attention_relevance.relevance_maps(model, inputs, "pathological")
    _, healthy = _maps_for_class(model, inputs, 0)
    assert pathological.shape == (2, 128, MAX_LENGTH)
    assert np.isnan(pathological[:, 126:]).all() and not np.isnan(pathological[:, :126]).any()
    assert not np.allclose(pathological, healthy)
    expected = torch.softmax(model(inputs).logits.double(), -1)[:, 1].detach().numpy()
    assert np.allclose(scores, expected, atol=1e-6)


def _maps_for_class(model, inputs, index):
    patches = torch.stack([reference_relevance(model, one, index)[0] for one in inputs])
    return None, rollout.patches_to_spectrogram(patches, model.config).numpy()


def test_a_frozen_backbone_still_gets_relevance():
    model = tiny_model()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    _, maps = attention_relevance.relevance_maps(model, torch.randn(1, MAX_LENGTH, 128))
    assert np.nansum(maps) > 0


def test_unknown_targets_and_tokens_are_refused():
    model = tiny_model()
    with pytest.raises(ValueError, match="target must be one of"):
        attention_relevance.relevance_maps(model, torch.randn(1, MAX_LENGTH, 128), target="both")
    with pytest.raises(ValueError, match="tokens must be one of"):
        attention_relevance.relevance_maps(model, torch.randn(1, MAX_LENGTH, 128), tokens="all")
