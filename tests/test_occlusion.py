"""Phone occlusion (captum's FeatureAblation over phone groups) against a plain loop that removes
one phone at a time."""
import numpy as np
import pytest
import torch

from svd_explain import occlusion
from svd_explain.textgrids import Segment

from test_rollout import MAX_LENGTH, tiny_model

torch.set_num_threads(1)

PHONES = [Segment(0.10, 0.25, "ɡ"), Segment(0.25, 0.40, "uː"), Segment(0.55, 0.80, "t")]


def test_phone_groups_hold_the_frames_whose_centres_lie_in_the_phone():
    mask = occlusion.phone_feature_mask(PHONES, MAX_LENGTH, n_frames=90)
    # Frame t is centred at 12.5 ms + t * 10 ms.
    assert mask[8] == 0 and mask[9] == 1 and mask[23] == 1 and mask[24] == 2
    assert set(mask[54:79]) == {3} and mask[53] == 0 and mask[79] == 0
    assert (occlusion.phone_feature_mask(PHONES, MAX_LENGTH, n_frames=60)[60:] == 0).all()


def test_effects_are_the_change_in_log_odds_when_a_phone_is_removed():
    model = tiny_model()
    inputs = torch.randn(2, MAX_LENGTH, 128)
    masks = np.stack([occlusion.phone_feature_mask(PHONES, MAX_LENGTH, 90),
                      occlusion.phone_feature_mask(PHONES[:2], MAX_LENGTH, 90)])
    baseline = 0.47
    odds, effects, maps = occlusion.phone_effects(model, inputs, masks, baseline, perturbations_per_eval=3)

    forward = occlusion.log_odds(model)
    with torch.no_grad():
        assert np.allclose(odds, forward(inputs).numpy())
        for row in range(2):
            for k in range(3):
                frames = torch.as_tensor(masks[row] == k + 1)
                if not frames.any():
                    assert np.isnan(effects[row, k])
                    continue
                removed = inputs[row].clone()
                removed[frames] = baseline
                expected = float(forward(inputs[row:row + 1])[0] - forward(removed[None])[0])
                assert effects[row, k] == pytest.approx(expected, rel=1e-5, abs=1e-6)
                assert np.allclose(maps[row][:, frames.numpy()], expected, rtol=1e-4, atol=1e-5)
    assert (maps[0][:, masks[0] == 0] == 0).all()
    assert maps.shape == (2, 128, MAX_LENGTH)


def test_a_fill_per_recording_and_mel_bin_replaces_the_phone_frames():
    """The noise floor as the fill: each recording's removed phone takes its own per-bin values."""
    model = tiny_model()
    inputs = torch.randn(2, MAX_LENGTH, 128)
    masks = np.stack([occlusion.phone_feature_mask(PHONES, MAX_LENGTH, 90)] * 2)
    fill = occlusion.noise_floor(inputs, [90, 60])
    _, effects, _ = occlusion.phone_effects(model, inputs, masks, fill, perturbations_per_eval=2)
    forward = occlusion.log_odds(model)
    with torch.no_grad():
        for row in range(2):
            for k in range(3):
                frames = torch.as_tensor(masks[row] == k + 1)
                removed = inputs[row].clone()
                removed[frames] = fill[row, 0]
                expected = float(forward(inputs[row:row + 1])[0] - forward(removed[None])[0])
                assert effects[row, k] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_the_noise_floor_is_a_low_quantile_of_the_recordings_own_frames():
    inputs = torch.zeros(2, 50, 4)
    inputs[0, :40] = torch.arange(40, dtype=torch.float32)[:, None] * torch.tensor([1.0, 2.0, 3.0, 4.0])
    inputs[0, 40:] = -100.0  # padding after the recording: never the floor
    inputs[1, :30] = 7.0
    floor = occlusion.noise_floor(inputs, [40, 30])
    assert floor.shape == (2, 1, 4)
    expected = torch.quantile(torch.arange(40, dtype=torch.float32), occlusion.NOISE_FLOOR_QUANTILE)
    assert torch.allclose(floor[0, 0], expected * torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert torch.allclose(floor[1, 0], torch.full((4,), 7.0))


def test_the_padding_value_is_what_the_extractor_writes_for_empty_frames():
    from transformers import ASTFeatureExtractor

    extractor = ASTFeatureExtractor(max_length=300)
    inputs = extractor(np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32), sampling_rate=16000,
                       return_tensors="np")["input_values"][0]
    assert np.allclose(inputs[-5:], occlusion.padding_value(extractor), atol=1e-6)


def test_integrated_gradients_complete_to_the_change_in_log_odds():
    """Completeness: the attributions sum to f(input) − f(baseline) (up to the Riemann error)."""
    from svd_explain import integrated_gradients

    model = tiny_model()
    inputs = torch.randn(2, MAX_LENGTH, 128)
    odds, maps = integrated_gradients.relevance_maps(model, inputs, 0.47, n_steps=64)
    with torch.no_grad():
        empty = occlusion.log_odds(model)(torch.full_like(inputs, 0.47)).numpy()
    assert maps.shape == (2, 128, MAX_LENGTH)
    assert np.allclose(maps.sum(axis=(1, 2)), odds - empty, rtol=0.05, atol=0.02)


def test_integrated_gradients_from_the_blurred_recording_complete_to_its_change_in_log_odds():
    from svd_explain import integrated_gradients

    model = tiny_model()
    inputs = torch.randn(2, MAX_LENGTH, 128)
    baseline = integrated_gradients.baseline_values("blur", inputs, [90, 60], padding=0.47)
    odds, maps = integrated_gradients.relevance_maps(model, inputs, baseline, n_steps=64)
    with torch.no_grad():
        blurred = occlusion.log_odds(model)(baseline).numpy()
    assert np.allclose(maps.sum(axis=(1, 2)), odds - blurred, rtol=0.05, atol=0.02)
    # The padding frames are their own baseline: nothing is attributed to them.
    assert np.abs(maps[1][:, 60:]).max() == 0
    assert integrated_gradients.baseline_values("padding", inputs, [90, 60], padding=0.47) == 0.47


def test_the_blurred_baseline_blurs_each_recording_over_time_within_its_own_frames():
    from scipy.ndimage import convolve1d

    from svd_explain import integrated_gradients

    inputs = torch.randn(2, MAX_LENGTH, 128)
    out = integrated_gradients.blurred(inputs, [90, 60], sigma=1.0)
    # By hand: a normalised Gaussian kernel of four standard deviations each side (scipy's
    # truncation), the edge frames repeated beyond the recording.
    offsets = np.arange(-4, 5)
    kernel = np.exp(-0.5 * offsets**2)
    kernel /= kernel.sum()
    for row, frames in enumerate([90, 60]):
        expected = convolve1d(inputs[row, :frames].numpy(), kernel, axis=0, mode="nearest")
        np.testing.assert_allclose(out[row, :frames].numpy(), expected, rtol=1e-5, atol=1e-6)
        assert torch.equal(out[row, frames:], inputs[row, frames:])
    # A blur keeps each frame's level on average but takes the frame-to-frame change.
    assert np.abs(np.diff(out[0, :90].numpy(), axis=0)).mean() < 0.6 * np.abs(np.diff(inputs[0, :90].numpy(), axis=0)).mean()
    with pytest.raises(ValueError, match="ig_baseline must be one of blur, padding, not 'zeros'"):
        integrated_gradients.baseline_values("zeros", inputs, [90, 60], padding=0.47)
