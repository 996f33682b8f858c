"""The phrase as words and phones (from the project's lexicon), and the acoustic targets the
synthesizer gives each phone of MFA's german_mfa set that occurs in it.

Formant targets are for an adult male vocal tract (scaled per speaker by vocal-tract length),
after published measurements of read German (e.g. Sendlmeier & Seebode 2006); durations are
those of a speaker at a normal rate in this phrase.
"""
import re
from dataclasses import dataclass
from pathlib import Path

# The checkout's resources/ folder (catalog.RESOURCES), found here without importing the
# catalog: the pretext pretraining runs this module in the torch env, which has no catalog
# dependencies.
RESOURCES = Path(__file__).resolve().parents[3] / "resources"
LEXICON = RESOURCES / "lexicon.txt"
PHRASE = RESOURCES / "phrase.txt"


@dataclass(frozen=True)
class Phone:
    """How the synthesizer makes one phone.

    manner: vowel, nasal, approximant, fricative or plosive. formants: (F1, F2, F3) in Hz, or
    None to take those of the next vowel (the articulation the consonant is coarticulated
    with). voicing: glottal source amplitude relative to a vowel. frication: (low Hz, high Hz,
    amplitude relative to a vowel) of band-passed noise. Plosives: closure, burst and
    voice-onset (aspiration for /t/) shares of the duration, in that order."""

    manner: str
    duration_ms: float
    formants: tuple | None
    voicing: float
    frication: tuple | None = None
    nasal_zero_hz: float | None = None
    closure: float = 0.0
    burst: float = 0.0


PHONES = {
    "iː": Phone("vowel", 95, (280, 2250, 2950), 1.0),
    "eː": Phone("vowel", 110, (340, 2100, 2650), 1.0),
    "ɛ": Phone("vowel", 75, (530, 1800, 2550), 1.0),
    "uː": Phone("vowel", 85, (300, 750, 2250), 1.0),
    "ɔ": Phone("vowel", 95, (560, 960, 2500), 1.0),
    "ə": Phone("vowel", 45, (480, 1450, 2450), 0.85),
    "m": Phone("nasal", 70, (280, 1050, 2200), 0.7, nasal_zero_hz=1000),
    "n": Phone("nasal", 62, (280, 1650, 2600), 0.7, nasal_zero_hz=1750),
    # German /r/ after a vowel: a weakly fricated uvular approximant.
    "ʁ": Phone("approximant", 55, (520, 1250, 2300), 0.75, frication=(700, 3000, 0.05)),
    "v": Phone("fricative", 65, (300, 1500, 2400), 0.45, frication=(1500, 7500, 0.03)),
    "s": Phone("fricative", 95, None, 0.0, frication=(3800, 10000, 0.3)),
    # Voiced stops of German are often devoiced: a weak voice bar in the closure, short VOT.
    "ɡ": Phone("plosive", 68, None, 0.0, frication=(1300, 3300, 0.25), closure=0.72, burst=0.12),
    "t": Phone("plosive", 80, (300, 1750, 2700), 0.0, frication=(2800, 7500, 0.35), closure=0.55, burst=0.12),
}
VOICED_PLOSIVES = {"ɡ"}
# Pitch accents (semitones above the declination line) on the words of the SVD phrase:
# "Guten MORgen, wie GEHT es Ihnen?"
ACCENTS = {"guten": 1.0, "morgen": 3.0, "geht": 2.0, "ihnen": 0.5}


def read_lexicon(path=LEXICON):
    """{word: [phones]} from a lexicon file of word<TAB>space-separated phones."""
    lexicon = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        word, _, phones = line.partition("\t")
        if not phones.strip():
            raise ValueError(f"{path}:{number}: expected word<TAB>phones, got {line!r}")
        lexicon[word.strip()] = phones.split()
    return lexicon


@dataclass(frozen=True)
class Word:
    text: str  # lowercased, without punctuation, as MFA writes words
    phones: tuple
    pause_mark: bool  # punctuation follows: where speakers pause most


def phrase_words(phrase_path=PHRASE, lexicon_path=LEXICON):
    """The phrase as a list of Word, pronounced as the lexicon says; every word and every
    phone must be known."""
    lexicon = read_lexicon(lexicon_path)
    text = Path(phrase_path).read_text(encoding="utf-8")
    words = []
    for token in re.findall(r"(\w+)(\W*)", text):
        word, punctuation = token[0].lower(), token[1].strip()
        if word not in lexicon:
            raise ValueError(f"{lexicon_path} lacks the phrase word {word!r}")
        words.append(Word(word, tuple(lexicon[word]), bool(punctuation)))
    if not words:
        raise ValueError(f"{phrase_path} holds no words")
    unknown = sorted({p for w in words for p in w.phones} - set(PHONES))
    if unknown:
        raise ValueError(f"the synthesizer has no acoustic targets for phone(s) {unknown}")
    return words
