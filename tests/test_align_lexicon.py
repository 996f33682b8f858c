"""The phrase's lexicon in MFA's german_mfa phone set, and reading lexicons and transcripts."""
from pathlib import Path

import pytest

from svd_explain.align.classes import FRICATIVE, NASAL, SONORANT, STOP, manner
from svd_explain.align.lexicon import pronounce, read_lexicon, read_phone_set, read_transcript, transcript_words

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


@pytest.fixture(scope="module")
def lexicon():
    return read_lexicon(RESOURCES / "lexicon.txt")


@pytest.fixture(scope="module")
def german_mfa():
    return read_phone_set(RESOURCES / "german_mfa_phones.txt")


def test_phone_set_is_german_mfa_v3(german_mfa):
    # 52 phones, as the german_mfa dictionary v3.0.0 lists them, each once.
    assert len(german_mfa) == 52 == len(set(german_mfa))
    assert {"ɡ", "ʁ", "ɔ", "ə", "iː", "eː", "uː", "ɛ", "tʰ", "n̩", "aj"} <= set(german_mfa)
    # MFA writes IPA ɡ (U+0261), never the Latin letter g.
    assert "g" not in german_mfa


def test_every_lexicon_phone_is_in_the_german_mfa_phone_set(lexicon, german_mfa):
    used = {p for phones in lexicon.values() for p in phones}
    assert used, "the lexicon uses no phones"
    assert used <= set(german_mfa), f"not in german_mfa: {sorted(used - set(german_mfa))}"


def test_every_word_of_the_phrase_has_a_pronunciation(lexicon):
    words = read_transcript(RESOURCES / "phrase.txt")
    assert words == ["guten", "morgen", "wie", "geht", "es", "ihnen"]
    assert [w for w, _ in pronounce(words, lexicon)] == words


def test_every_german_mfa_phone_has_a_broad_class_for_the_tied_model(german_mfa):
    for phone in german_mfa:
        assert manner(phone) in {SONORANT, NASAL, STOP, FRICATIVE}
    assert manner("iː") == manner("aj") == manner("ə") == SONORANT
    assert manner("tʰ") == manner("ɡ") == manner("pf") == STOP
    assert manner("s") == manner("ç") == FRICATIVE
    assert manner("n̩") == manner("ŋ") == NASAL
    assert manner("ʁ") == manner("v") == manner("l") == manner("j") == SONORANT
    assert manner("z") == manner("ʃ") == manner("f") == FRICATIVE
    with pytest.raises(ValueError, match="no manner class"):
        manner("☃")


def test_transcripts_lose_case_and_punctuation():
    assert transcript_words("Guten Morgen, wie geht es Ihnen?") == ["guten", "morgen", "wie", "geht", "es", "ihnen"]
    assert transcript_words("Grüße – äh, schön!") == ["grüße", "äh", "schön"]
    with pytest.raises(ValueError, match="no words"):
        transcript_words(" ?! ")


def test_unknown_words_are_named(lexicon):
    with pytest.raises(KeyError, match="tschüss"):
        pronounce(["guten", "tschüss"], lexicon)


@pytest.mark.parametrize(
    "text, message",
    [
        ("guten ɡ uː t ə n\n", "expected 'word<TAB>phones'"),
        ("guten\t\n", "expected 'word<TAB>phones'"),
        ("guten\tɡ uː\nGuten\tɡ u\n", "listed twice"),
        ("", "empty"),
    ],
)
def test_malformed_lexicons_are_rejected(tmp_path, text, message):
    path = tmp_path / "lexicon.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_lexicon(path)
