"""The flat start: a first phone segmentation of every recording, from which the first phone
models are estimated.

When every recording reads the same phrase, EM keeps whatever systematic error the first
segmentation has: a phone model trained on the end of the phone before it explains those frames
as well as the right one would, in every recording alike. Spreading the phones evenly over the
speech (Kaldi's equal alignment) is off by 50 ms and more in the middle of the phrase (speech
rate varies, phrase-final syllables are longer, speakers pause), and training never recovers.
So the phones are placed in two steps:

1. Broad classes. Each phone becomes one or two broad-class units: plosives and affricates a
   closure and a release, voiceless fricatives frication, nasals nasal, everything else
   sonorant. Frames are labelled by simple acoustic rules (near the noise floor, or a dip of
   12 dB below their surroundings: closure; more energy above 3 kHz than in 100 Hz - 1 kHz:
   frication; loud and low-pass with almost nothing in 800 Hz - 3 kHz: nasal; loud, low-pass,
   with F2-range energy: sonorant), one Gaussian per class is estimated from the labelled
   frames, and the class sequence of the phrase is Viterbi-aligned to every recording (with
   optional silence between words), then re-estimated once. Closures, frication, nasal murmur
   and pauses are acoustically distinct, so this segmentation has no systematic drift.
2. Phones. The class segmentation fixes the edges of every plosive, voiceless fricative and
   nasal, and of every pause; the other phones between two such anchors share the stretch in
   proportion to their typical durations (long vowels longer than schwa).

On the synthetic demo corpus (200 recordings, the default config), equal alignment followed by
EM leaves about 20 % of the phone boundaries within 20 ms of the truth; the broad classes
without the nasal class about 80 %; this flat start about 90 %."""
import logging

import numpy as np

from svd_explain.align.kaldi import (
    FRAME_LENGTH_S,
    FRAME_SHIFT_S,
    SILENCE,
    GmmHmm,
    Lang,
    num_frames,
)
from svd_explain.align.lexicon import pronounce

log = logging.getLogger(__name__)

CLOSURE, RELEASE, FRICATION, NASAL, SONORANT = "closure", "release", "frication", "nasal", "sonorant"
# Phone classes by the first symbol of the phone (MFA's IPA phone sets: aspiration, length and
# syllabicity marks follow the base symbol).
PLOSIVES = set("pbtdkɡgcɟqʔ")
VOICELESS_FRICATIVES = set("fsʃçxhθχ")
VOWELS = set("aeiouyøœɐɔəɛɪʊʏɑæɒʌɜ")
SCHWAS = {"ə", "ɐ"}
NASALS = set("mnŋɲɱ")
OTHER_CONSONANTS = set("vzʒðʁrɹɾljwʋ")
# Typical durations (ms) in read German at a normal rate; only their ratios matter: they share a
# stretch of sonorants between the phones the broad classes pin down.
TYPICAL_MS = {"long vowel": 100, "vowel": 70, "schwa": 45, "plosive": 70, "fricative": 85, "nasal": 65, "approximant": 55}

# Frame-labelling rules for the broad-class models (levels in dB).
FLOOR_SHARE = 0.3  # closure: below floor + FLOOR_SHARE * (peak - floor)
DIP_DB = 12.0  # closure: this far below the loudest frame within +-DIP_WINDOW_S
DIP_WINDOW_S = 0.08
FRICATION_BALANCE_DB = 0.0  # frication: energy above 3 kHz over 100 Hz - 1 kHz
SONORANT_BELOW_PEAK_DB = 15.0  # sonorant, nasal: within this of the peak and balance below:
SONORANT_BALANCE_DB = -10.0
# Nasal murmur: almost no energy between 800 Hz and 3 kHz (where vowels have F2) next to a
# strong first resonance below 500 Hz; vowels keep above VOWEL_MID_DB.
NASAL_MID_DB = -33.0
VOWEL_MID_DB = -28.0
CLASS_ITERATIONS = 1


def phone_class(phone):
    """The manner class of an IPA phone: long vowel, vowel, schwa, plosive (affricates too),
    fricative (voiced ones too), nasal or approximant (liquids, glides, /ʁ/)."""
    base = phone[0]
    if phone in SCHWAS:
        return "schwa"
    if base in VOWELS:
        # Long vowels carry a length mark; diphthongs (aj, aw, ɔʏ) are long too.
        return "long vowel" if "ː" in phone or len(phone) > 1 else "vowel"
    if base in PLOSIVES:
        return "plosive"
    if base in VOICELESS_FRICATIVES:
        return "fricative"
    if base in NASALS:
        return "nasal"
    if base in OTHER_CONSONANTS:
        return "fricative" if base in "vzʒð" else "approximant"
    raise ValueError(f"no manner class for the phone {phone!r}")


def broad_units(phone):
    """The broad-class units of a phone."""
    base = phone[0]
    if phone_class(phone) == "plosive":
        return (CLOSURE, RELEASE)
    if base in VOICELESS_FRICATIVES:
        return (FRICATION,)
    if base in NASALS:
        return (NASAL,)
    return (SONORANT,)


def class_lexicon(lexicon):
    """The lexicon with every phone replaced by its broad-class units."""
    return {word: tuple(u for p in phones for u in broad_units(p)) for word, phones in lexicon.items()}


def spectral_measures(samples, sample_rate):
    """Per analysis frame (as the features), in dB: the energy above 3 kHz over the energy in
    100 Hz - 1 kHz (high for frication, low for voiced sonorants), and the energy in
    800 Hz - 3 kHz over 100 - 500 Hz (very low in nasal murmur). Shape (frames, 2)."""
    shift = round(FRAME_SHIFT_S * sample_rate)
    length = round(FRAME_LENGTH_S * sample_rate)
    count = num_frames(len(samples), sample_rate)
    padded = np.pad(samples, (length, length))
    centres = np.arange(count) * shift + shift // 2 + length
    frames = padded[centres[:, None] + np.arange(-(length // 2), length - length // 2)[None, :]]
    power = np.abs(np.fft.rfft(frames * np.hanning(length), axis=1)) ** 2
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)

    def band(low, high):
        return power[:, (freqs >= low) & (freqs < high)].sum(axis=1) + 1e-10

    balance = 10 * np.log10(band(3000, sample_rate / 2 + 1) / band(100, 1000))
    mid = 10 * np.log10(band(800, 3000) / band(100, 500))
    return np.column_stack([balance, mid])


def local_maximum(values, half_width_s):
    """The maximum of `values` (one per frame) within +-half_width_s of every frame."""
    half = round(half_width_s / FRAME_SHIFT_S)
    padded = np.pad(values, half, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).max(axis=1)


def frame_classes(recording, measures):
    """Boolean masks over the frames of a recording: silence (outside the speech span) and the
    frames the rules are confident about for each broad class (others are left unlabelled).
    `measures`: spectral_measures() of the recording."""
    levels = recording.levels
    balance, mid = measures[:, 0], measures[:, 1]
    floor, peak = np.percentile(levels, [5, 99])
    inside = np.zeros(len(levels), dtype=bool)
    inside[recording.span.start:recording.span.end] = True
    closure = inside & (
        (levels < floor + FLOOR_SHARE * (peak - floor)) | (levels < local_maximum(levels, DIP_WINDOW_S) - DIP_DB)
    )
    frication = inside & ~closure & (balance > FRICATION_BALANCE_DB)
    voiced = inside & ~closure & (levels > peak - SONORANT_BELOW_PEAK_DB) & (balance < SONORANT_BALANCE_DB)
    # Bursts are short frication: the release units start from the frication frames.
    return {
        SILENCE: ~inside,
        CLOSURE: closure,
        RELEASE: frication,
        FRICATION: frication,
        NASAL: voiced & (mid < NASAL_MID_DB),
        SONORANT: voiced & (mid > VOWEL_MID_DB),
    }


def broad_class_model(recordings, measures, words, lexicon, silence_probability):
    """The broad-class GMM-HMM (one state per unit): estimated from rule-labelled frames, then
    re-estimated from its own alignments CLASS_ITERATIONS times."""
    lang = Lang(class_lexicon(lexicon))
    feats = np.concatenate([r.feats for r in recordings])
    model = GmmHmm.initial(lang, feats.mean(axis=0), feats.var(axis=0), phone_states=1)
    frames, pdfs = [], []
    for recording in recordings:
        for unit, mask in frame_classes(recording, measures[recording.key]).items():
            for pdf in model.state_pdfs(unit):
                frames.append(recording.feats[mask])
                pdfs.append(np.full(int(mask.sum()), pdf))
    accs, _ = model.accumulate(frames, pdfs)
    model.update(accs)
    for _ in range(CLASS_ITERATIONS):
        model.em_iteration([r.feats for r in recordings], model.graph(words, silence_probability))
    return model, model.graph(words, silence_probability)


def phone_spans(class_segments, phones):
    """[(first frame, end frame)] of every phone from a broad-class segmentation.

    `class_segments`: [(unit, first frame, end frame)] with silences, as GmmHmm.phone_segments
    returns them. Plosives, voiceless fricatives and nasals keep the edges of their units, and
    every phone keeps an edge that touches a silence (pauses stay out of the phones); the other
    phones share the stretch between two kept edges in proportion to their typical durations."""
    units = iter([(i, u) for i, p in enumerate(phones) for u in broad_units(p)])
    starts, ends, after_pause = {}, {}, set()
    previous_silent = True
    for unit, first, end in class_segments:
        if unit == SILENCE:
            previous_silent = True
            continue
        phone, expected = next(units, (None, None))
        if unit != expected:
            raise ValueError("the broad-class segmentation does not follow the phrase")
        if phone not in starts:
            starts[phone] = first
            if previous_silent:
                after_pause.add(phone)
        ends[phone] = end
        previous_silent = False
    if len(ends) != len(phones):
        raise ValueError("the broad-class segmentation does not follow the phrase")
    spans = []
    chunk_starts = sorted(after_pause) + [len(phones)]
    for first_phone, end_phone in zip(chunk_starts[:-1], chunk_starts[1:]):
        chunk = range(first_phone, end_phone)
        edges = [None] * (len(chunk) + 1)
        edges[0], edges[-1] = starts[first_phone], ends[end_phone - 1]
        for k, phone in enumerate(chunk):
            if broad_units(phones[phone]) != (SONORANT,):
                edges[k], edges[k + 1] = starts[phone], ends[phone]
        known = [k for k, e in enumerate(edges) if e is not None]
        for left, right in zip(known[:-1], known[1:]):
            weights = np.array([TYPICAL_MS[phone_class(phones[first_phone + k])] for k in range(left, right)], dtype=float)
            for k, share in enumerate(np.cumsum(weights)[:-1] / weights.sum(), start=left + 1):
                edges[k] = int(round(edges[left] + share * (edges[right] - edges[left])))
        spans += list(zip(edges[:-1], edges[1:]))
    return spans


def flat_start(recordings, measures, words, lexicon, silence_probability):
    """{key: [(first frame, end frame)] per phone} for the recordings whose broad classes could
    be aligned."""
    phones = [p for _, pron in pronounce(words, lexicon) for p in pron]
    model, graph = broad_class_model(recordings, measures, words, lexicon, silence_probability)
    spans = {}
    for recording in recordings:
        alignment = model.viterbi(graph, recording.feats)
        if alignment is not None:
            spans[recording.key] = phone_spans(model.phone_segments(alignment), phones)
    log.info("flat start: broad classes aligned in %d of %d recordings", len(spans), len(recordings))
    return spans


def spans_to_pdfs(model, phones, spans, total_frames):
    """The pdf of every frame: each phone's frames spread evenly over its states, the frames
    outside the phones (leading, trailing silence and pauses) over the silence states."""
    pdfs = np.empty(total_frames, dtype=np.int64)

    def spread(states, first, last):
        for state, frames in zip(states, np.array_split(np.arange(first, last), len(states))):
            pdfs[frames] = state

    silence = model.state_pdfs(SILENCE)
    previous_end = 0
    for phone, (first, last) in zip(phones, spans):
        spread(silence, previous_end, first)
        spread(model.state_pdfs(phone), first, last)
        previous_end = last
    spread(silence, previous_end, total_frames)
    return pdfs
