"""The vocal tract: a cascade of formant resonators with a nasal pole-zero pair (Klatt's
cascade synthesizer), whose frequencies and bandwidths change every frame."""
import numpy as np
from scipy.signal import sosfilt


def _pole_pair(freq, bandwidth, sample_rate):
    radius = np.exp(-np.pi * bandwidth / sample_rate)
    return -2.0 * radius * np.cos(2 * np.pi * freq / sample_rate), radius**2


def formant_sections(formants, bandwidths, nasal_pole, nasal_zero, sample_rate):
    """Second-order sections per frame, shape (frames, sections, 6), each with unit gain at
    0 Hz: one resonator per formant column, then the nasal pole-zero pair as one section (an
    identity where the zero sits on the pole, i.e. outside nasals). `nasal_pole` and
    `nasal_zero` are (frequencies, bandwidths) per frame."""
    n_frames, n_formants = formants.shape
    sos = np.zeros((n_frames, n_formants + 1, 6))
    sos[:, :, 3] = 1.0
    for k in range(n_formants):
        a1, a2 = _pole_pair(formants[:, k], bandwidths[:, k], sample_rate)
        sos[:, k, 0], sos[:, k, 4], sos[:, k, 5] = 1.0 + a1 + a2, a1, a2
    # One section, not a pole and a zero apart: a zero normalised on its own has a huge gain
    # at high frequencies, and its filter state then rings whenever the frequencies move.
    a1, a2 = _pole_pair(*nasal_pole, sample_rate)
    b1, b2 = _pole_pair(*nasal_zero, sample_rate)
    gain = (1.0 + a1 + a2) / (1.0 + b1 + b2)
    sos[:, -1] = np.stack([gain, gain * b1, gain * b2, np.ones(n_frames), a1, a2], axis=1)
    return sos


def vocal_tract(excitation, sections, hop):
    """Filter `excitation` through the per-frame `sections` (frame k covers samples
    k*hop .. (k+1)*hop), carrying the filter state across frames."""
    if len(sections) * hop < len(excitation):
        raise ValueError(f"{len(sections)} frames of {hop} samples do not cover {len(excitation)} samples")
    out = np.empty_like(excitation)
    state = np.zeros((sections.shape[1], 2))
    for k, sos in enumerate(sections[: -(-len(excitation) // hop)]):
        block = slice(k * hop, (k + 1) * hop)
        out[block], state = sosfilt(sos, excitation[block], zi=state)
    return out
