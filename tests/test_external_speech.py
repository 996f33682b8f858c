"""The external-speech benchmark's truth (benchmarks/external_speech.py) for every language, from
what the engines said, committed as text (benchmarks/languages/<lang>/sample-*): no TTS engine is
needed. The truth must spell the language's lexicon, and the aligner must have a class for every
phone of it."""
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import external_speech  # noqa: E402
from svd_explain.align.classes import manner  # noqa: E402
from svd_explain.align.lexicon import pronounce, read_lexicon, read_transcript  # noqa: E402

LANGUAGES = sorted(external_speech.LANGUAGES)
SAMPLES = BENCHMARKS / "languages"


def pho_sample(language):
    (path,) = sorted((SAMPLES / language).glob("sample-mbrola-*.pho"))
    return external_speech.parse_pho(path.read_text(encoding="utf-8"))


def espeak_sample(language):
    lines = (SAMPLES / language / "sample-espeak-events.tsv").read_text(encoding="utf-8").splitlines()
    return [(label, float(start)) for label, start in (line.split("\t") for line in lines if not line.startswith("#"))]


def test_every_language_has_its_samples_and_sources():
    assert set(LANGUAGES) == {"de", "nl", "en", "fr"}
    for language in LANGUAGES:
        assert pho_sample(language) and espeak_sample(language)
        sources = [s for s in external_speech.SOURCES if external_speech.source_parts(s)[1] == language]
        assert sorted(external_speech.source_parts(s)[0] for s in sources) == ["espeak", "mbrola"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_mbrola_pho_spells_the_lexicon(language):
    lines = pho_sample(language)
    events = external_speech.pho_events(lines)
    duration = sum(line.duration_ms for line in lines) / 1000
    phones = external_speech.truth_segments(events, duration, language, "mbrola")
    assert [p.label for p in phones] == external_speech.phrase_phones(language)
    # Every phone lasts what the .pho gives it; pauses are gaps between phones.
    spoken = [line for line in lines if line.phone not in external_speech.PAUSES]
    assert [round(1000 * (p.end - p.start)) for p in phones] == [round(line.duration_ms) for line in spoken]
    assert all(a.end <= b.start + 1e-9 for a, b in zip(phones, phones[1:]))
    gaps = sum(b.start - a.end > 1e-6 for a, b in zip(phones, phones[1:]))
    assert gaps >= 1  # at least the comma pause
    words = external_speech.word_segments(phones, language)
    assert [w.label for w in words] == read_transcript(external_speech.LANGUAGES[language].phrase_path)
    assert words[0].start == phones[0].start and words[-1].end == phones[-1].end


@pytest.mark.parametrize("language", LANGUAGES)
def test_espeak_events_spell_the_lexicon(language):
    events = espeak_sample(language)
    phones = external_speech.truth_segments(events, events[-1][1] + 0.1, language, "espeak")
    assert [p.label for p in phones] == external_speech.phrase_phones(language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_wrong_or_unknown_phone_raises(language):
    lines = pho_sample(language)
    events = external_speech.pho_events(lines)
    duration = sum(line.duration_ms for line in lines) / 1000
    spoken = [k for k, (label, _) in enumerate(events) if label not in external_speech.PAUSES]
    swapped = list(events)
    first, second = spoken[0], next(k for k in spoken if events[k][0] != events[spoken[0]][0])
    swapped[first], swapped[second] = (events[second][0], events[first][1]), (events[first][0], events[second][1])
    with pytest.raises(ValueError, match="do not spell"):
        external_speech.truth_segments(swapped, duration, language, "mbrola")
    dropped = events[:spoken[1]] + events[spoken[1] + 1:]
    with pytest.raises(ValueError, match="do not spell"):
        external_speech.truth_segments(dropped, duration, language, "mbrola")
    with pytest.raises(ValueError, match="no lexicon phone"):
        external_speech.truth_segments([("X~", 0.0), *events[1:]], duration, language, "mbrola")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_lexicon_phone_has_a_broad_class(language):
    spoken = external_speech.LANGUAGES[language]
    lexicon = read_lexicon(spoken.lexicon_path)
    pronounce(read_transcript(spoken.phrase_path), lexicon)  # every word of the phrase is listed
    for phones in lexicon.values():
        for phone in phones:
            manner(phone)  # raises for a phone without a class
    # Each engine's map lands on the lexicon's phones only.
    used = {p for phones in lexicon.values() for p in phones}
    for engine, phone_map in spoken.phone_maps.items():
        assert set(phone_map.values()) >= used, engine


def test_each_language_has_its_own_vowels_for_the_nasal_release():
    """eSpeak NG's vowel after a nasal starts at the release when the vowel is one of the
    language's: French /ɑ̃/ (eSpeak's A~) is no German vowel."""
    rate = 16000
    t = np.arange(int(0.25 * rate)) / rate
    level = np.where(t < 0.1, 0.03, 0.5)  # a quiet nasal murmur, released into a loud vowel at 0.1 s
    samples = level * np.sin(2 * np.pi * 200 * t)
    events = [("m", 0.0), ("A~", 0.125)]
    french = external_speech.espeak_truth(samples, rate, events, external_speech.LANGUAGES["fr"].espeak_vowels)
    german = external_speech.espeak_truth(samples, rate, events)
    assert abs(french[1][1] - 0.1) < 0.01
    assert german[1][1] == 0.125


@pytest.mark.parametrize("source", ["mbrola-xx", "festival-nl", "espeak-"])
def test_unknown_sources_raise(source):
    with pytest.raises(ValueError, match="unknown source"):
        external_speech.source_parts(source)


def test_source_names():
    assert external_speech.source_parts("mbrola") == ("mbrola", "de")
    assert external_speech.source_parts("espeak-fr") == ("espeak", "fr")
    assert external_speech.voices("mbrola-nl") == {"nl2": "male", "nl3": "female"}
    phrase, lexicon = external_speech.phrase_and_lexicon("espeak-en")
    assert phrase.is_file() and lexicon.is_file() and phrase.parent.name == "en"
