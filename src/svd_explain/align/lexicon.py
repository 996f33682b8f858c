"""The pronunciation lexicon and the transcript of the phrase, shared by both aligners."""
import re
import unicodedata
from pathlib import Path


def read_lexicon(path):
    """`word<TAB>phone phone ...` lines as {word: (phone, ...)}, in file order.

    Words are lower-case (as MFA normalises transcripts); a word listed twice, a line without a
    tab or without phones raises ValueError."""
    lexicon = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        word, sep, pronunciation = line.partition("\t")
        phones = tuple(pronunciation.split())
        if not sep or not word.strip() or not phones:
            raise ValueError(f"{path}:{number}: expected 'word<TAB>phones', got {line!r}")
        word = unicodedata.normalize("NFC", word.strip().lower())
        if word in lexicon:
            raise ValueError(f"{path}:{number}: {word!r} is listed twice")
        lexicon[word] = tuple(unicodedata.normalize("NFC", p) for p in phones)
    if not lexicon:
        raise ValueError(f"{path}: the lexicon is empty")
    return lexicon


def read_phone_set(path):
    """The phones of a phone-set file (one per line, `#` comments), in file order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [unicodedata.normalize("NFC", s.strip()) for s in lines if s.strip() and not s.startswith("#")]


def transcript_words(text):
    """The words of a transcript as the lexicon spells them: lower case, punctuation dropped."""
    words = re.findall(r"[^\W\d_]+", unicodedata.normalize("NFC", text).lower())
    if not words:
        raise ValueError(f"the transcript {text!r} has no words")
    return words


def read_transcript(path):
    """The words of the transcript in the text file at `path`."""
    return transcript_words(Path(path).read_text(encoding="utf-8"))


def pronounce(words, lexicon):
    """The phones of each word, as [(word, (phone, ...)), ...]; a word missing from the lexicon
    raises KeyError naming it."""
    missing = [w for w in words if w not in lexicon]
    if missing:
        raise KeyError(f"word(s) {missing} are not in the lexicon")
    return [(w, lexicon[w]) for w in words]
