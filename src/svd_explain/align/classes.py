"""Broad phonetic classes: which phones the first aligner model ties together.

When every recording reads one phrase, most phones occur once, always between the same
neighbours; a phone model of its own can then drift into its neighbour (nothing else in the
corpus pins it), and EM settles on whatever the start gave it. Phones of one manner of
articulation look alike in any voice, so the first model ties them: all vowels (schwa
included), all nasals, all stops, all fricatives share their GMMs, which every occurrence of
the class trains. A class boundary (vowel to nasal, stop to vowel, ...) is then pinned by many
occurrences at once.

Approximants and voiced fricatives (/v/, /ʁ/, /l/, /j/, ...) are realised as sonorants by some
voices and as fricatives by others; their class is decided from the corpus itself: the class
whose flat-start frames are nearest theirs (Mahalanobis distance of the means, pooled
within-phone variance).

The manner of a phone comes from its IPA symbol (`manner`), as in MFA's phone sets."""
import numpy as np

VOWEL, NASAL, STOP, FRICATIVE = "vowel", "nasal", "stop", "fricative"
PLOSIVES = set("pbtdkɡgcɟqʔ")
VOICELESS_FRICATIVES = set("fsʃçxhθχɸ")
VOICED_FRICATIVES = set("vzʒðβʝɣ")
APPROXIMANTS = set("ʁrɹɾlʎjwʋɰ")
NASALS = set("mnŋɲɱ")
VOWELS = set("aeiouyøœɐɔəɛɪʊʏɑæɒʌɜ")


def manner(phone: str) -> str:
    """The manner class of an IPA phone (by its first symbol; length and other marks follow):
    vowel, nasal, stop (affricates too), fricative, or "variable" for approximants and voiced
    fricatives, whose class the corpus decides."""
    base = phone[0]
    if base in VOWELS:
        return VOWEL
    if base in NASALS:
        return NASAL
    if base in PLOSIVES:
        return STOP
    if base in VOICELESS_FRICATIVES:
        return FRICATIVE
    if base in VOICED_FRICATIVES or base in APPROXIMANTS:
        return "variable"
    raise ValueError(f"no manner class for the phone {phone!r}")


def assign_classes(phone_frames: dict) -> dict:
    """{phone: class} for the phones of `phone_frames` ({phone: frames x dims, from the flat
    start}): the fixed manner of each phone, and for the variable ones the fixed class whose
    pooled frames have the nearest mean. A variable phone with no fixed class in the phrase to
    join keeps a class of its own (its symbol)."""
    classes = {p: manner(p) for p in phone_frames}
    means = {p: frames.mean(axis=0) for p, frames in phone_frames.items()}
    pooled = np.concatenate([frames - means[p] for p, frames in phone_frames.items()]).var(axis=0)
    pooled = np.maximum(pooled, 1e-6)
    fixed = sorted({c for c in classes.values() if c != "variable"})
    centres = {
        c: np.concatenate([phone_frames[p] for p in phone_frames if classes[p] == c]).mean(axis=0) for c in fixed
    }
    for phone in [p for p, c in classes.items() if c == "variable"]:
        if not centres:
            classes[phone] = phone
            continue
        distance = {c: float(np.sum((means[phone] - centre) ** 2 / pooled)) for c, centre in centres.items()}
        classes[phone] = min(sorted(distance), key=distance.get)
    return classes


def tying(classes: dict) -> list[list[str]]:
    """The groups of phones that share their GMMs: one per class with two or more phones."""
    groups = {}
    for phone, group in sorted(classes.items()):
        groups.setdefault(group, []).append(phone)
    return [members for members in groups.values() if len(members) > 1]


def class_runs(phones, classes: dict) -> list[tuple[int, int]]:
    """[(first, end)) index ranges of the runs of two or more adjacent phones of one class (in
    the order of the phrase): inside a run the tied model cannot tell the phones apart."""
    runs, first = [], 0
    for k in range(1, len(phones) + 1):
        if k == len(phones) or classes[phones[k]] != classes[phones[k - 1]]:
            if k - first > 1:
                runs.append((first, k))
            first = k
    return runs
