"""Who speaks and how their voice sounds: per-speaker traits (shared by all sessions of a
speaker) and the voice-source settings of one session, which depend on its category.

Healthy voices vary mildly (a little jitter, shimmer and breath noise, more with age).
Pathological voices add perturbations whose kind follows the category and whose strength
varies between speakers, from nearly normal to severe:
- organic (lesions, paralysis, inflammation): irregular jitter, shimmer, subharmonics
  (alternating periods and amplitudes, i.e. roughness / diplophonia), voice breaks, a lower f0;
- non-organic (functional): breathy (open, leaky glottis, steep spectral tilt, breath noise) or
  pressed (short open phase, bright spectrum, higher f0), often with tremor.
"""
from dataclasses import dataclass, fields

import numpy as np

SPEAKER_STREAM = 1
PROFILE_STREAM = 2
CATEGORY_CODES = {"healthy": 0, "organic": 1, "non-organic": 2}
# Labels that point to how a functional voice is produced (else pressed or breathy at random).
PRESSED_LABELS = {"Hyperfunktionelle Dysphonie", "Taschenfaltenstimme"}
BREATHY_LABELS = {"Hypofunktionelle Dysphonie", "Hypotone Dysphonie", "Phonasthenie", "Psychogene Dysphonie"}


@dataclass(frozen=True)
class Speaker:
    """Traits shared by all sessions of a speaker."""

    f0_hz: float
    vocal_tract_scale: float  # formant frequencies relative to the adult male targets
    formant_jitter: tuple  # per-formant deviations (factors) from the targets
    bandwidth_scale: float
    rate: float  # duration multiplier (> 1 slower)
    accent_range: float  # pitch-accent size relative to the phrase's accents
    pause_tendency: float  # probability of a pause at the comma


@dataclass(frozen=True)
class VoiceSource:
    """Glottal source settings of one session."""

    jitter: float  # relative standard deviation of period-to-period variation
    jitter_spikes: float  # probability per cycle of a large period irregularity
    shimmer: float  # relative standard deviation of cycle amplitudes
    subharmonic: float  # alternating period / amplitude modulation depth (period doubling)
    breath_noise: float  # aspiration noise RMS relative to the voiced source
    open_quotient: float
    speed_quotient: float  # opening / closing duration
    tilt_hz: float  # corner of the extra spectral tilt (lower = breathier, duller)
    tremor_hz: float
    tremor_depth: float  # relative f0 modulation (amplitude modulation is twice as deep)
    breaks_per_s: float  # aphonic voice breaks
    f0_factor: float  # the session's f0 relative to the speaker's habitual one


def speaker_traits(seed, speaker_id, sex, age):
    """The traits of a speaker (sex female or male) at `age`: everything random is drawn per
    speaker, so a speaker's sessions differ only by how age shifts f0 and rate."""
    rng = np.random.default_rng([seed, SPEAKER_STREAM, speaker_id])
    if age < 12:
        f0, scale = rng.normal(260, 20), rng.normal(1.28, 0.04)
    elif sex == "female":
        # Women's f0 falls after menopause.
        f0 = rng.normal(212, 18) - 0.6 * max(age - 45.0, 0.0)
        scale = rng.normal(1.17, 0.035)
    else:
        # Men's f0 rises a little in old age.
        f0 = rng.normal(118, 13) + 0.35 * max(age - 60.0, 0.0)
        scale = rng.normal(1.0, 0.035)
    return Speaker(
        f0_hz=float(np.clip(f0, 70, 330)),
        vocal_tract_scale=float(scale),
        formant_jitter=tuple(rng.normal(1.0, 0.03, 3)),
        bandwidth_scale=float(rng.uniform(0.85, 1.25)),
        rate=float(np.exp(rng.normal(0.0, 0.1)) * (1.0 + 0.004 * max(age - 40.0, 0.0))),
        accent_range=float(rng.uniform(0.5, 1.5)),
        pause_tendency=float(rng.beta(1.0, 3.0)),
    )


@dataclass(frozen=True)
class SessionVoice:
    """The glottal source of one session: `perturbed` is the session's own (with the
    perturbations of its category, at `severity`), `healthy` the same voice without them (what
    the session sounds like outside the phones that carry a planted cue). A healthy session
    has severity 0 and perturbed == healthy. `kind`: healthy, rough (the organic profile:
    jitter, shimmer, subharmonics, breaks), pressed or breathy (the two non-organic ones)."""

    healthy: VoiceSource
    perturbed: VoiceSource
    severity: float
    kind: str = "healthy"

    def blend(self, weight):
        """The source at cue weight `weight` in [0, 1] (0: healthy, 1: perturbed); exactly one
        of the two at the ends."""
        if weight >= 1.0:
            return self.perturbed
        if weight <= 0.0:
            return self.healthy
        return VoiceSource(**{
            f.name: weight * getattr(self.perturbed, f.name) + (1.0 - weight) * getattr(self.healthy, f.name)
            for f in fields(VoiceSource)
        })


def voice_source(seed, session, perturbation_scale, rng):
    """The glottal source of one session, as a SessionVoice.

    `session` has speaker_id, age, category and pathologies (a catalog row). The kind of
    perturbation and the speaker's base severity are drawn per speaker and category (a speaker
    keeps them across sessions); `rng` (the session's) varies the severity between sessions and
    draws the healthy variation."""
    aging = float(np.clip((session["age"] - 50.0) / 40.0, 0.0, 1.0))
    source = dict(
        jitter=rng.uniform(0.002, 0.005) + 0.004 * aging,
        jitter_spikes=0.0,
        shimmer=rng.uniform(0.02, 0.045) + 0.02 * aging,
        subharmonic=0.0,
        breath_noise=rng.uniform(0.01, 0.03) + 0.03 * aging,
        open_quotient=rng.uniform(0.55, 0.68),
        speed_quotient=rng.uniform(2.0, 3.0),
        tilt_hz=rng.uniform(3500.0, 7000.0),
        tremor_hz=rng.uniform(4.0, 7.0),
        tremor_depth=0.002 * aging,
        breaks_per_s=0.0,
        f0_factor=1.0,
    )
    category = session["category"]
    healthy = VoiceSource(**{key: float(value) for key, value in source.items()})
    if category == "healthy":
        return SessionVoice(healthy, healthy, 0.0, "healthy")

    profile = np.random.default_rng(
        [seed, PROFILE_STREAM, session["speaker_id"], CATEGORY_CODES[category]]
    )
    base_severity = profile.beta(1.3, 1.6)
    severity = float(base_severity * np.exp(rng.normal(0.0, 0.2)) * perturbation_scale)
    if category == "organic":
        kind = "rough"
        rough, sub, breaks, breathy = profile.dirichlet([1.5, 1.0, 0.6, 0.6]) * 2.0
        source["jitter"] += severity * rough * 0.03
        source["jitter_spikes"] = severity * rough * 0.05
        source["shimmer"] += severity * rough * 0.18
        source["subharmonic"] = severity * sub * 0.12
        source["breaks_per_s"] = severity * breaks * 0.8
        source["breath_noise"] += severity * breathy * 0.25
        source["f0_factor"] = 1.0 - severity * profile.uniform(0.0, 0.15)
    else:
        labels = set(session["pathologies"])
        pressed_probability = 0.85 if labels & PRESSED_LABELS else 0.15 if labels & BREATHY_LABELS else 0.5
        tremor = profile.uniform(0.0, 1.0) ** 2
        kind = "pressed" if profile.uniform() < pressed_probability else "breathy"
        if kind == "pressed":
            source["open_quotient"] -= severity * 0.25
            source["speed_quotient"] += severity * 2.0
            source["tilt_hz"] += severity * 4000.0
            source["f0_factor"] = 1.0 + severity * profile.uniform(0.0, 0.12)
        else:
            source["open_quotient"] += severity * 0.25
            source["speed_quotient"] -= severity * 1.0
            source["tilt_hz"] = source["tilt_hz"] / (1.0 + 4.0 * severity)
            source["breath_noise"] += severity * 0.5
        source["tremor_depth"] += severity * tremor * 0.05
        source["jitter"] += severity * 0.004
        source["shimmer"] += severity * 0.03
    source["f0_factor"] = float(np.clip(source["f0_factor"], 0.6, 1.5))
    source["open_quotient"] = float(np.clip(source["open_quotient"], 0.3, 0.95))
    source["speed_quotient"] = float(max(source["speed_quotient"], 0.8))
    return SessionVoice(healthy, VoiceSource(**{key: float(value) for key, value in source.items()}), severity, kind)
