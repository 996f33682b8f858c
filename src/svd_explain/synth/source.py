"""The glottal source: a Rosenberg glottal pulse per cycle, with the period and amplitude of
every cycle perturbed (jitter, shimmer, subharmonics, tremor) and a spectral tilt."""
import numpy as np
from scipy.signal import lfilter


def glottal_cycles(f0_at, duration_s, voice, rng):
    """Start times (s), periods (s) and amplitudes of the glottal cycles over `duration_s`.

    `f0_at(t)` is the intended f0 (Hz) at times t; tremor, jitter, jitter spikes, shimmer and
    the alternation of subharmonic voices are applied cycle by cycle."""
    tremor_phase = rng.uniform(0, 2 * np.pi)
    starts, periods, amplitudes = [], [], []
    t, parity = 0.0, 1.0
    while t < duration_s:
        tremor = np.sin(2 * np.pi * voice.tremor_hz * t + tremor_phase)
        period = 1.0 / (f0_at(t) * (1.0 + voice.tremor_depth * tremor))
        change = 1.0 + voice.jitter * rng.standard_normal() + voice.subharmonic * parity
        if rng.uniform() < voice.jitter_spikes:
            change *= rng.uniform(0.7, 1.4)
        # Bounded, so that even extreme settings (a large perturbation_scale) keep a voice.
        period *= np.clip(change, 0.5, 2.0)
        amplitude = (
            (1.0 + voice.shimmer * rng.standard_normal())
            * (1.0 + 2.0 * voice.tremor_depth * tremor)
            * (1.0 - 3.0 * voice.subharmonic * parity)
        )
        starts.append(t)
        periods.append(period)
        amplitudes.append(max(amplitude, 0.05))
        t += period
        parity = -parity
    return np.array(starts), np.array(periods), np.array(amplitudes)


def rosenberg_flow(phase, open_quotient, speed_quotient):
    """Glottal flow (0..1) at cycle phases in [0, 1): a raised-cosine opening and a
    quarter-cosine closing, closed for the rest of the cycle."""
    opening = open_quotient * speed_quotient / (1.0 + speed_quotient)
    closing = open_quotient / (1.0 + speed_quotient)
    flow = np.zeros_like(phase)
    rising = phase < opening
    flow[rising] = 0.5 * (1.0 - np.cos(np.pi * phase[rising] / opening))
    falling = ~rising & (phase < opening + closing)
    flow[falling] = np.cos(0.5 * np.pi * (phase[falling] - opening) / closing)
    return flow


def glottal_source(f0_at, n_samples, sample_rate, voice, rng):
    """The glottal flow derivative (the excitation with lip radiation folded in) for
    `n_samples`, scaled to unit RMS, and a boolean mask of the samples in an open phase (where
    breath noise is strongest)."""
    starts, periods, amplitudes = glottal_cycles(f0_at, n_samples / sample_rate, voice, rng)
    t = np.arange(n_samples) / sample_rate
    cycle = np.searchsorted(starts, t, side="right") - 1
    phase = (t - starts[cycle]) / periods[cycle]
    flow = amplitudes[cycle] * rosenberg_flow(phase, voice.open_quotient, voice.speed_quotient)
    derivative = np.diff(flow, prepend=0.0)
    # One-pole low-pass: the extra spectral tilt of a breathy (or lax) voice.
    pole = np.exp(-2 * np.pi * voice.tilt_hz / sample_rate)
    derivative = lfilter([1.0 - pole], [1.0, -pole], derivative)
    derivative /= np.sqrt(np.mean(derivative**2)) + 1e-12
    return derivative, phase < voice.open_quotient
