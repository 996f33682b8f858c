"""The official SVD archive's known defects, and which file of a session holds its voice.

The archive stores each recording twice: the voice (`<s>-phrase.nsp`) and the
electroglottograph signal recorded with it (`<s>-phrase-egg.egg`). In a few sessions the two
are swapped, and one session's files lack their size fields
(resources/svd_known_defects.tsv). The catalog reads each phrase through `phrase_voice`:

- a known defect is repaired in memory (the voice read from the EGG file; the size fields
  rebuilt from the file length), or with catalog.known_defects = exclude, excluded;
- wherever an EGG file lies beside the phrase, the two are compared: the voice is the brighter
  (speech has formants, fricatives and lip radiation; the EGG follows the vocal folds'
  contact only), so an unknown swap is found and excluded with its reason;
- sbvoicedb's repaired copies (`<s>-phrase-fixed.nsp`, written beside the originals when it
  builds its database) are used only where the original is missing (catalog.find_recordings),
  and then as they are."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svd_explain.audio import BadRecording, brightness, read_recording

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEFECTS_TABLE = RESOURCES / "svd_known_defects.tsv"
DEFECTS = {
    "swapped_egg": "its .nsp files hold the electroglottograph signal and its -egg.egg files the voice",
    "incomplete_nsp": "its NSP files lack their size fields",
}
# The catalog's `repair` column: how the phrase was read.
REPAIRS = {
    "none": "read as it is",
    "swapped_egg": "voice read from the session's -egg.egg file (known voice/EGG swap)",
    "incomplete_nsp": "NSP size fields rebuilt from the file length, in memory",
}
# The voice is at least this many times as bright as its EGG; a pair closer than that is
# ambiguous. (Speech against an EGG of the same voice differs by far more: see audio.py.)
PAIR_MARGIN = 2.0
FIXED_SUFFIX = "-fixed"


@dataclass(frozen=True)
class KnownDefect:
    session_id: int
    defect: str
    phrase: bool
    source: str

    def describe(self):
        return f"session {self.session_id}: {DEFECTS[self.defect]} ({self.source})"


def read_known_defects(path=DEFECTS_TABLE):
    """{session_id: KnownDefect} from the table (tab-separated, # comments)."""
    defects = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if fields[0] == "session_id":
            continue
        session_id, defect, _, phrase, source = fields
        if defect not in DEFECTS:
            raise ValueError(f"{path}: unknown defect {defect!r} for session {session_id}")
        defects[int(session_id)] = KnownDefect(int(session_id), defect, phrase.strip() == "yes", source.strip())
    return defects


def is_repaired_copy(path):
    """Whether `path` is a repaired copy that sbvoicedb wrote beside an original."""
    return Path(path).stem.endswith(FIXED_SUFFIX)


def egg_file(phrase_path):
    """The EGG file recorded with a phrase file, if it exists: `<s>-phrase-egg.egg` beside
    `<s>-phrase.nsp` (and `-egg-fixed.egg` beside sbvoicedb's `-fixed.nsp`), or an EGG export
    in the phrase's own format (`<s>-phrase-egg.wav`)."""
    path = Path(phrase_path)
    stem = path.stem.removesuffix(FIXED_SUFFIX)
    fixed = FIXED_SUFFIX if is_repaired_copy(path) else ""
    for name in (f"{stem}-egg{fixed}.egg", f"{stem}-egg{fixed}{path.suffix}"):
        candidate = path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Voice:
    """A session's phrase as the catalog reads it: the file that holds the voice, how it was
    read (a key of REPAIRS), its samples and rate, and a note for the log ("" when none)."""

    path: Path
    repair: str
    samples: np.ndarray
    rate: int
    note: str = ""


def phrase_voice(session_id, phrase_path, known_defects, mode="repair"):
    """The voice of a session's phrase recording, or BadRecording with the reason it is
    excluded. `known_defects` as from read_known_defects; mode "repair" or "exclude" (for the
    known defects; an unknown swap is always excluded)."""
    phrase_path = Path(phrase_path)
    defect = None if is_repaired_copy(phrase_path) else known_defects.get(int(session_id))
    if defect is not None and not defect.phrase:
        defect = None
    if defect is not None and mode == "exclude":
        raise BadRecording(f"known archive defect, {defect.describe()}; catalog.known_defects = exclude")
    rebuild = defect is not None and defect.defect == "incomplete_nsp"
    repair = "incomplete_nsp" if rebuild else "none"
    samples, rate = read_recording(phrase_path, rebuild)
    swap_known = defect is not None and defect.defect == "swapped_egg"

    egg_path = egg_file(phrase_path)
    egg = None
    if egg_path is not None:
        try:
            egg = read_recording(egg_path, rebuild)
        except BadRecording:
            egg = None
    if egg is None:
        note = "known voice/EGG swap, but no readable EGG file beside it: read as it is" if swap_known else ""
        return Voice(phrase_path, repair, samples, rate, note)

    voice_bright, egg_bright = brightness(samples, rate), brightness(*egg)
    measured = (
        f"{100 * voice_bright:.2f} % of the energy of {phrase_path.name} and {100 * egg_bright:.2f} % of "
        f"{egg_path.name} lie above 1 kHz"
    )
    if egg_bright >= PAIR_MARGIN * voice_bright:
        if swap_known:
            return Voice(egg_path, "swapped_egg", *egg, f"voice read from {egg_path.name} (known swap; {measured})")
        raise BadRecording(
            f"{phrase_path.name} looks like an electroglottograph signal and {egg_path.name} like the voice "
            f"({measured}): a voice/EGG swap that is not a known defect, excluded"
        )
    if voice_bright >= PAIR_MARGIN * egg_bright:
        note = f"known voice/EGG swap not in this copy ({measured}): read as it is" if swap_known else ""
        return Voice(phrase_path, repair, samples, rate, note)
    if swap_known:
        raise BadRecording(
            f"known voice/EGG swap, but the two files are alike ({measured}): cannot tell which holds the voice"
        )
    return Voice(phrase_path, repair, samples, rate)
