"""Clips for the demo's stand-in of AudioSet pretraining: short babble (random syllables, not
the SVD phrase) spoken by random speakers who are not the corpus's, each with AudioSet-style
multi-hot labels: the speaker's sex, which vowels occur, and the voice's quality when it is
not modal (rough, pressed or breathy, over the whole clip, as the synthesizer's pathological
profiles make them: synth/voice.py).

A model pretrained on them (src/svd_explain/pretrain.py) has features that encode who speaks,
what is said and how the voice sounds overall, as general audio features do; it was never told
about pathology, nor that a voice can change within a phrase."""
from dataclasses import dataclass

import numpy as np
import soxr

from svd_explain.synth.phonetics import PHONES, Word
from svd_explain.synth.recording import SAMPLE_RATE, phone_timing, recording_channel, synthesize_speech
from svd_explain.synth.voice import speaker_traits, voice_source

PRETEXT_STREAM = 5
# Speaker ids far above the SVD's (at most 4 digits): no pretext speaker shares a voice with
# a corpus speaker.
PRETEXT_SPEAKER_BASE = 10_000_000
VOWELS = tuple(label for label, phone in PHONES.items() if phone.manner == "vowel")
ONSETS = tuple(label for label, phone in PHONES.items() if phone.manner != "vowel")
FULL_VOWELS = tuple(v for v in VOWELS if PHONES[v].voicing >= 0.99)
CODAS = tuple(label for label, phone in PHONES.items() if phone.manner in ("nasal", "approximant", "fricative"))
VOICE_QUALITIES = ("rough", "pressed", "breathy")
PRETEXT_LABELS = ("female speech", "male speech", *(f"vowel {v}" for v in VOWELS), *(f"{q} voice" for q in VOICE_QUALITIES))
# Shares of the clips' voices: modal, and the profiles of the two pathological categories
# (non-organic ones are pressed or breathy at random), with severities as perturbation_scale
# QUALITY_SCALE gives them.
VOICE_SHARES = {"healthy": 0.5, "organic": 0.25, "non-organic": 0.25}
QUALITY_SCALE = 2.5
SYLLABLES = (2, 6)  # syllables per clip: few, so that each vowel label is informative
AGES = (18.0, 85.0)
EDGE_S = 0.05  # the shortest silence before and after the speech


@dataclass(frozen=True)
class PretextClip:
    samples: np.ndarray  # float32 at the target rate
    labels: np.ndarray  # float32 multi-hot over PRETEXT_LABELS
    sex: str
    age: float
    quality: str  # healthy (modal), rough, pressed or breathy


def babble(rng):
    """Words of random syllables (optional onset consonant, vowel, optional coda), 1-2
    syllables a word, with a pause mark after some words."""
    syllables = []
    for _ in range(rng.integers(SYLLABLES[0], SYLLABLES[1] + 1)):
        onset = [ONSETS[rng.integers(len(ONSETS))]] if rng.uniform() < 0.8 else []
        coda = [CODAS[rng.integers(len(CODAS))]] if rng.uniform() < 0.3 else []
        syllables.append(onset + [VOWELS[rng.integers(len(VOWELS))]] + coda)
    # The synthesizer levels speech by its full vowels (voicing 1; not /ə/): keep one.
    if not any(p in FULL_VOWELS for syllable in syllables for p in syllable):
        syllables[0] = [FULL_VOWELS[rng.integers(len(FULL_VOWELS))] if p in VOWELS else p for p in syllables[0]]
    words, k = [], 0
    while k < len(syllables):
        size = int(rng.integers(1, 3))
        phones = tuple(p for syllable in syllables[k:k + size] for p in syllable)
        words.append(Word(f"w{len(words)}", phones, bool(rng.uniform() < 0.3)))
        k += size
    return tuple(words)


def pretext_clip(index, seed, max_seconds, sample_rate=16000):
    """Pretext clip number `index`: babble by a random adult (female or male) with a modal,
    rough, pressed or breathy voice, placed at a random point of a recording of at most
    `max_seconds`, at `sample_rate`."""
    rng = np.random.default_rng([seed, PRETEXT_STREAM, index])
    sex = ("female", "male")[int(rng.integers(2))]
    age = float(rng.uniform(*AGES))
    category = str(rng.choice(list(VOICE_SHARES), p=list(VOICE_SHARES.values())))
    speaker_id = PRETEXT_SPEAKER_BASE + index
    speaker = speaker_traits(seed, speaker_id, sex, age)
    session = {"session_id": speaker_id, "speaker_id": speaker_id, "age": age, "category": category, "pathologies": []}
    session_voice = voice_source(seed, session, QUALITY_SCALE, rng)
    voice = session_voice.perturbed
    words = babble(rng)
    word_segments, phone_segments, speech_s = phone_timing(words, speaker, rng)
    if speech_s + 2 * EDGE_S > max_seconds:
        raise ValueError(f"pretext clips of up to {max_seconds} s cannot hold {speech_s:.2f} s of speech")
    speech = synthesize_speech(word_segments, phone_segments, speech_s, speaker, voice, rng)
    # Silence on either side up to half of what is left: the speech lands anywhere in the
    # input window, so every position embedding is trained.
    spare = (max_seconds - speech_s) / 2
    samples, _ = recording_channel(speech, rng, edge_silence_s=(EDGE_S, spare), min_duration_s=0.0)
    samples = soxr.resample(samples, SAMPLE_RATE, sample_rate, quality="HQ").astype(np.float32)
    if not np.isfinite(samples).all():
        raise ValueError(f"pretext clip {index}: the synthesis gave non-finite samples")
    present = {p.label for p in phone_segments}
    labels = np.array(
        [sex == "female", sex == "male", *(v in present for v in VOWELS), *(session_voice.kind == q for q in VOICE_QUALITIES)],
        dtype=np.float32,
    )
    return PretextClip(samples[: int(max_seconds * sample_rate)], labels, sex, age, session_voice.kind)
