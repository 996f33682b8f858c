"""Broad phonetic classes: which phones the first aligner model ties together.

When every recording reads one phrase, most phones occur once, always between the same
neighbours; a phone model of its own can then drift into its neighbour (nothing else in the
corpus pins it), and EM settles on whatever the start gave it. Phones of one class look alike
in any voice, so the first model ties them and every occurrence of the class trains it; a
boundary between two classes (vowel to nasal, stop to vowel, ...) is then pinned by many
occurrences at once. The classes follow the phones' manner of articulation:

- sonorant: vowels (schwa included), approximants and the weak voiced fricatives (/v ð β ʝ ɣ ʁ/):
  German /v/ and /ʁ/ are realised as approximants or vocalised as often as as fricatives, and
  tying them with the sibilants makes the sibilants' model swallow vowels;
- nasal;
- stop (affricates too);
- fricative: the sibilants and the voiceless fricatives.

The manner of a phone comes from its IPA symbol (`manner`), as in MFA's phone sets."""
SONORANT, NASAL, STOP, FRICATIVE = "sonorant", "nasal", "stop", "fricative"
VOWELS = set("aeiouyøœɐɔəɛɪʊʏɑæɒʌɜɘɤɯɨʉ")
APPROXIMANTS = set("ʁrɹɾlʎjwʋɰɥʀ")
WEAK_VOICED_FRICATIVES = set("vðβʝɣ")
NASALS = set("mnŋɲɱɴ")
PLOSIVES = set("pbtdkɡgcɟqʔ")
FRICATIVES = set("fsʃçxhθχɸzʒɕʑʂʐ")


def manner(phone: str) -> str:
    """The broad class of an IPA phone by its first symbol (length and other marks follow)."""
    base = phone[0]
    if base in VOWELS or base in APPROXIMANTS or base in WEAK_VOICED_FRICATIVES:
        return SONORANT
    if base in NASALS:
        return NASAL
    if base in PLOSIVES:
        return STOP
    if base in FRICATIVES:
        return FRICATIVE
    raise ValueError(f"no manner class for the phone {phone!r}")


def phone_classes(phones) -> dict:
    """{phone: class} for the distinct phones of `phones`."""
    return {phone: manner(phone) for phone in sorted(set(phones))}


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
