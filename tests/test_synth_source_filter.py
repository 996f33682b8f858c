"""The synthesizer's parts: the glottal source and the formant filter."""
import dataclasses

import numpy as np
from scipy.signal import find_peaks

from svd_explain.synth.source import glottal_cycles, glottal_source, rosenberg_flow
from svd_explain.synth.tract import formant_sections, vocal_tract
from svd_explain.synth.voice import VoiceSource

RATE = 50_000
MODAL = VoiceSource(
    jitter=0.0, jitter_spikes=0.0, shimmer=0.0, subharmonic=0.0, breath_noise=0.0,
    open_quotient=0.6, speed_quotient=2.5, tilt_hz=5000.0, tremor_hz=5.0, tremor_depth=0.0,
    breaks_per_s=0.0, f0_factor=1.0,
)


def _constant_f0(t):
    return 125.0


def test_cycles_follow_f0_and_the_perturbations():
    rng = np.random.default_rng(0)
    _, periods, amplitudes = glottal_cycles(_constant_f0, 4.0, MODAL, rng)
    np.testing.assert_allclose(periods, 1 / 125.0)
    np.testing.assert_allclose(amplitudes, 1.0)

    rough = dataclasses.replace(MODAL, jitter=0.02, shimmer=0.1)
    _, periods, amplitudes = glottal_cycles(_constant_f0, 4.0, rough, rng)
    assert 0.016 < np.std(periods * 125.0) < 0.024
    assert 0.08 < np.std(amplitudes) < 0.12

    # Subharmonics: every other cycle is longer and weaker (period doubling).
    doubled = dataclasses.replace(MODAL, subharmonic=0.1)
    _, periods, amplitudes = glottal_cycles(_constant_f0, 1.0, doubled, rng)
    assert np.all(np.abs(np.diff(periods)) > 0.15 / 125.0)
    assert np.all(np.abs(np.diff(amplitudes)) > 0.5)


def test_rosenberg_pulse_opens_and_closes_within_the_open_quotient():
    phase = np.linspace(0, 1, 1000, endpoint=False)
    flow = rosenberg_flow(phase, 0.6, 2.0)
    assert flow.min() >= 0 and np.isclose(flow.max(), 1.0, atol=1e-3)
    assert np.all(flow[phase >= 0.6] == 0) and np.argmax(flow) == 400


def test_glottal_source_has_the_harmonics_of_f0():
    source, open_phase = glottal_source(_constant_f0, RATE, RATE, MODAL, np.random.default_rng(0))
    assert np.isclose(np.sqrt(np.mean(source**2)), 1.0)
    assert np.isclose(open_phase.mean(), 0.6, atol=0.01)
    spectrum = np.abs(np.fft.rfft(source))  # 1 Hz bins
    harmonics = spectrum[[125, 250, 375, 500]]
    assert np.all(harmonics > 50 * np.median(spectrum[100:1000]))


def _response(formants, nasal_pole=(270.0, 100.0), nasal_zero=(270.0, 100.0), n=RATE // 10, nasal_section=True):
    frames = n // 100
    sections = formant_sections(
        np.tile(formants, (frames, 1)), np.tile([80.0] * len(formants), (frames, 1)),
        nasal_pole=tuple(np.full(frames, v) for v in nasal_pole),
        nasal_zero=tuple(np.full(frames, v) for v in nasal_zero),
        sample_rate=RATE,
    )
    if not nasal_section:
        sections = sections[:, :-1]
    impulse = np.zeros(n)
    impulse[0] = 1.0
    return vocal_tract(impulse, sections, 100)


def test_formant_filter_resonates_at_the_formants_with_unit_gain_at_0_hz():
    formants = [500.0, 1500.0, 2500.0, 3500.0, 4500.0]
    response = _response(formants)
    spectrum = np.abs(np.fft.rfft(response))
    freqs = np.fft.rfftfreq(len(response), 1 / RATE)
    assert np.isclose(spectrum[0], 1.0, rtol=1e-3)
    peaks, _ = find_peaks(spectrum[freqs < 5000])
    np.testing.assert_allclose(freqs[peaks], formants, rtol=0.03)


def test_nasal_pair_is_an_identity_outside_nasals_and_a_dip_in_them():
    formants = [300.0, 1200.0, 2500.0]
    oral = _response(formants, nasal_section=False)
    np.testing.assert_allclose(_response(formants, nasal_zero=(270.0, 100.0)), oral, atol=1e-9)
    nasal = np.abs(np.fft.rfft(_response(formants, nasal_zero=(1000.0, 100.0))))
    freqs = np.fft.rfftfreq(len(oral), 1 / RATE)
    dip = nasal[(freqs > 900) & (freqs < 1100)].min() / np.abs(np.fft.rfft(oral))[(freqs > 900) & (freqs < 1100)].min()
    assert dip < 0.2
