"""The glottal source: a Rosenberg glottal pulse per cycle, with the period and amplitude of
every cycle perturbed (jitter, shimmer, subharmonics, tremor) and a spectral tilt.

With a planted cue (synth/cues.py) the source settings change over time: each cycle takes the
blend of the session's healthy and perturbed settings at the cue's weight at its start, and
the spectral tilt crossfades between the two sources' tilts sample by sample."""
import numpy as np
from scipy.signal import lfilter


def glottal_cycles(f0_at, duration_s, voice, rng, cue_weight=None):
    """Start times (s), periods (s) and amplitudes of the glottal cycles over `duration_s`.

    `f0_at(t)` is the intended f0 (Hz) at times t; tremor, jitter, jitter spikes, shimmer and
    the alternation of subharmonic voices are applied cycle by cycle. `voice` is a
    VoiceSource, or with `cue_weight` (the cue's weight as a function of time) a SessionVoice
    whose blend at the weight of each cycle's start sets that cycle."""
    tremor_phase = rng.uniform(0, 2 * np.pi)
    starts, periods, amplitudes = [], [], []
    t, parity = 0.0, 1.0
    session_voice = voice
    while t < duration_s:
        if cue_weight is not None:
            voice = session_voice.blend(float(cue_weight(t)))
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
    quarter-cosine closing, closed for the rest of the cycle. The quotients are numbers, or
    arrays of the shape of `phase` (one value per sample)."""
    opening = np.broadcast_to(open_quotient * speed_quotient / (1.0 + speed_quotient), phase.shape)
    closing = np.broadcast_to(open_quotient / (1.0 + speed_quotient), phase.shape)
    flow = np.zeros_like(phase)
    rising = phase < opening
    flow[rising] = 0.5 * (1.0 - np.cos(np.pi * phase[rising] / opening[rising]))
    falling = ~rising & (phase < opening + closing)
    flow[falling] = np.cos(0.5 * np.pi * (phase[falling] - opening[falling]) / closing[falling])
    return flow


def _tilted(derivative, tilt_hz, sample_rate):
    """The flow derivative through a one-pole low-pass at `tilt_hz` (the extra spectral tilt
    of a breathy or lax voice), scaled to unit RMS."""
    pole = np.exp(-2 * np.pi * tilt_hz / sample_rate)
    tilted = lfilter([1.0 - pole], [1.0, -pole], derivative)
    return tilted / (np.sqrt(np.mean(tilted**2)) + 1e-12)


def glottal_source(f0_at, n_samples, sample_rate, voice, rng, cue_weight=None):
    """The glottal flow derivative (the excitation with lip radiation folded in) for
    `n_samples`, scaled to unit RMS, and a boolean mask of the samples in an open phase (where
    breath noise is strongest).

    `voice`: a VoiceSource, or with `cue_weight` (the cue's weight as a function of an array of
    times) a SessionVoice, blended cycle by cycle (see glottal_cycles); the tilts of its
    healthy and perturbed sources are crossfaded by the weight at each sample."""
    starts, periods, amplitudes = glottal_cycles(f0_at, n_samples / sample_rate, voice, rng, cue_weight)
    t = np.arange(n_samples) / sample_rate
    cycle = np.searchsorted(starts, t, side="right") - 1
    phase = (t - starts[cycle]) / periods[cycle]
    if cue_weight is None:
        open_quotient, speed_quotient = voice.open_quotient, voice.speed_quotient
    else:
        # The weight at each cycle's start, as glottal_cycles blends it.
        weight = np.clip(cue_weight(starts), 0.0, 1.0)[cycle]
        healthy, perturbed = voice.healthy, voice.perturbed
        open_quotient = weight * perturbed.open_quotient + (1.0 - weight) * healthy.open_quotient
        speed_quotient = weight * perturbed.speed_quotient + (1.0 - weight) * healthy.speed_quotient
    flow = amplitudes[cycle] * rosenberg_flow(phase, open_quotient, speed_quotient)
    derivative = np.diff(flow, prepend=0.0)
    if cue_weight is None:
        return _tilted(derivative, voice.tilt_hz, sample_rate), phase < open_quotient
    # Each tilt at unit RMS before the crossfade: the cue changes the spectrum, not the level.
    weight = np.clip(cue_weight(t), 0.0, 1.0)
    mixed = weight * _tilted(derivative, voice.perturbed.tilt_hz, sample_rate) + (1.0 - weight) * _tilted(
        derivative, voice.healthy.tilt_hz, sample_rate
    )
    return mixed / (np.sqrt(np.mean(mixed**2)) + 1e-12), phase < open_quotient
