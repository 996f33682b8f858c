"""Speech this project did not write, German and three other languages, with true phone
boundaries from the engines' own timing: corpora for scoring the aligner outside the project's
synthetic world.

Sources of German (Debian packages; `bash benchmarks/install_tts.sh` installs them as root):

- `mbrola`: MBROLA diphone voices de1-de7. Each voice is a diphone database cut from the
  recordings of one real speaker (de1, de3, de5, de7 female; de2, de4, de6 male), driven by
  eSpeak NG's German prosody (`espeak-ng -v mb-deN --pho`). The truth is the phone durations of
  the .pho file MBROLA synthesises from: MBROLA places each phone boundary of the database's
  labelling exactly at the cumulative duration. Before synthesis every phone's duration is
  scaled by a per-recording tempo and a per-phone lognormal factor, and the pitch targets by a
  per-recording factor, so that no two recordings share their timing. de8 is left out: its
  database lacks diphones that eSpeak NG's German asks for (MBROLA replaces them with silence).
- `espeak`: eSpeak NG's own formant synthesiser (rules, not recordings), German, with its voice
  variants (m1-m7, f1-f4, klatt...), at speaking rates of 130-190 words per minute and varied
  pitch. The truth is the audio position of each phoneme event eSpeak NG reports while it
  synthesises (libespeak-ng, phoneme events).

Boundary conventions (the same as MFA's and as the project's synthetic truth):
- a stop's closure belongs to the stop: MBROLA's stop segments run from the closure onset to
  the end of the release; eSpeak NG's phoneme event for a stop marks its release and leaves the
  closure (digital silence in its output) at the end of the phone before, so the truth moves
  the stop's start back to the start of that silence (`espeak_truth`);
- a vowel after a nasal starts at the nasal's release (eSpeak NG's vowel event comes at the end
  of the transition out of the nasal, 10-35 ms later; MBROLA's databases are labelled at the
  release);
- pauses (eSpeak's `_`, `_:`, `_|` and MBROLA's `_`) are silence: the phones on either side end
  and start at the pause; a zero-length pause is dropped;
- a glottal stop before a word-initial vowel (MBROLA de6's and de7's `?`) is silence too: the
  lexicon has no glottal stop and MFA's german_mfa dictionary does not write one, so an aligner
  puts the glottal closure in the silence before the vowel; where the voice has glottalised
  vowels as units of their own (de4's `?E`, `?i:`), the unit is the vowel;
- the engines' phones are mapped to the lexicon's german_mfa phones one to one (`PHONE_MAP`),
  and the mapped sequence must equal the phrase's phones, or the recording raises; so does an
  MBROLA run that reports a diphone its database lacks (it would put silence there).

Other languages (`LANGUAGES`; sources `mbrola-<lang>` and `espeak-<lang>`): held out, as nobody
looked at them while the aligner was designed. Each has a greeting of 5-6 words with stops,
nasals, fricatives and a comma pause, read by the same two engines, and its own phrase and IPA
lexicon in benchmarks/languages/<lang>/ (phrase.txt, lexicon.txt). The lexicon spells what
eSpeak NG says (`espeak-ng -v <lang> -x`, the .pho of the MBROLA voices): truth and lexicon agree
by construction, and a recording whose mapped phones do not spell the lexicon raises (what each
engine said is kept next to them, sample-mbrola-<voice>.pho and sample-espeak-events.tsv, German's
in languages/de/, for tests/test_external_speech.py, which needs no engine). The truth
follows the German conventions above (closures in the stop; pauses, eSpeak NG's short `_!`
included, are silence; a vowel after a nasal starts at the release, for eSpeak NG).
- `nl`, "Goedemiddag, hoe gaat het met u?": MBROLA nl2 (male) and nl3 (female); eSpeak NG `nl`.
  nl1 is left out: its database lacks diphones the phrase needs (_-G, G-u, d-A, ...: MBROLA
  stops with "unknown recovery").
- `en`, "Good evening, nice to meet you.": MBROLA en1 (British, male), us1 (female), us2 and
  us3 (male); eSpeak NG `en-us`. The British and American voices say the same phones here
  (no /r/ in the phrase); the American ones write fleece, goose and price as i, u, AI and an
  aspirated /t/ as t_h.
- `fr`, "Bonjour monsieur, comment allez-vous?": MBROLA fr1, fr3, fr5, fr6, fr7 (male; fr5 and
  fr7 Belgian) and fr2, fr4 (female); eSpeak NG `fr` (no liaison in "comment allez"). Not
  "Bonjour madame": without a voiceless fricative in the phrase the baseline aligner of
  align_external.py cannot train (its flat start needs a frication model).
Italian and Spanish are left out: eSpeak NG 1.51's MBROLA phone tables for them ask it-/es-
voices for diphones they lack (it1/it2: N-dZ, it3/it4: s-i/, es1/es2: n-o/, es3: b-b), and
Dutch nl1 for the same reason.

Every recording also gets what a real SVD recording has: leading and trailing silence of
0.15-0.8 s, a noise floor (white plus a hum) at a random signal-to-noise ratio, a random level,
and the archive's 50 kHz sample rate (the workflow resamples to 16 kHz).

`write_corpus` writes the legacy flat layout (`<session>-phrase.wav`), the true TextGrids
(`truth/<session>.TextGrid`) and a session table in the official column format (`summary.csv`)
so that the workflow itself can run on the folder (`corpus.source: svd`)."""
import ctypes
import csv
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import soxr

from svd_explain.align.lexicon import pronounce, read_lexicon, read_transcript
from svd_explain.textgrids import Segment, write_alignment

ROOT = Path(__file__).resolve().parents[1]
PHRASE_PATH = ROOT / "resources" / "phrase.txt"
LEXICON_PATH = ROOT / "resources" / "lexicon.txt"
MBROLA_DATA = Path("/usr/share/mbrola")
OUTPUT_RATE = 50000

# eSpeak NG / MBROLA German SAMPA -> german_mfa phones of the lexicon.
PHONE_MAP = {
    "g": "ɡ", "u:": "uː", "t": "t", "@": "ə", "n": "n", "m": "m", "O": "ɔ", "R": "ʁ", "r": "ʁ",
    "v": "v", "i:": "iː", "e:": "eː", "E": "ɛ", "s": "s",
}
PAUSES = {"_", "_:", "_|", "_!", "?"}

MBROLA_VOICES = {"de1": "female", "de2": "male", "de3": "female", "de4": "male", "de5": "female", "de6": "male", "de7": "female"}
# eSpeak NG's variants whose stop closures are digital silence (see `espeak_truth`); breathy
# variants (f2-f5, m2, ...), whispered and robotic ones are left out.
ESPEAK_VOICES = {
    **dict.fromkeys(["m1", "m3", "m4", "m5", "m6", "m7", "klatt", "klatt2", "klatt3", "Andy", "Denis", "Michael", "adam", "boris"], "male"),
    **dict.fromkeys(["f1", "Andrea", "Annie", "anika", "aunty", "belinda", "linda", "steph"], "female"),
}
# The voices tuning may look at; every other voice is held out for the final scores.
TUNING_VOICES = {"mbrola": ["de1", "de2", "de3"], "espeak": ["m1", "m3", "klatt", "Andy", "f1", "Andrea"]}
# German's sources keep their plain names; another language's are `mbrola-<lang>`, `espeak-<lang>`.
SOURCES = ("mbrola", "espeak", "mbrola-nl", "espeak-nl", "mbrola-en", "espeak-en", "mbrola-fr", "espeak-fr")


class MissingEngine(RuntimeError):
    """A text-to-speech engine or voice this benchmark needs is not installed."""


def phrase_phones(language="de"):
    spoken = LANGUAGES[language]
    words = read_transcript(spoken.phrase_path)
    return [p for _, pron in pronounce(words, read_lexicon(spoken.lexicon_path)) for p in pron]


def truth_segments(events, duration_s, language="de", engine="mbrola"):
    """The phones of a recording as Segments (seconds) from an engine's [(label, start s)]
    (each phone ends where the next event starts, the last at `duration_s`), following the
    conventions above; raises ValueError when the phones do not spell the phrase of
    `language`."""
    phone_map = LANGUAGES[language].phone_maps[engine]
    segments = []
    for (label, start), (_, end) in zip(events, [*events[1:], ("", duration_s)]):
        if label in PAUSES or end <= start:
            continue
        phone = phone_map.get(label.removeprefix("?"))
        if phone is None:
            raise ValueError(f"no lexicon phone for the engine's phone {label!r}")
        segments.append(Segment(start, end, phone))
    found, expected = [s.label for s in segments], phrase_phones(language)
    if found != expected:
        raise ValueError(f"the engine's phones {found} do not spell the phrase {expected}")
    return segments


def word_segments(phones, language="de"):
    spoken = LANGUAGES[language]
    words = read_transcript(spoken.phrase_path)
    out, position = [], 0
    for word, pron in pronounce(words, read_lexicon(spoken.lexicon_path)):
        out.append(Segment(phones[position].start, phones[position + len(pron) - 1].end, word))
        position += len(pron)
    return out


# ---------------------------------------------------------------- MBROLA


@dataclass(frozen=True)
class PhoLine:
    phone: str
    duration_ms: float
    pitch: tuple  # (position %, Hz) pairs, flattened as in the .pho file


def parse_pho(text):
    """The lines of an MBROLA .pho file (comments and blank lines dropped)."""
    lines = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(";"):
            continue
        lines.append(PhoLine(fields[0], float(fields[1]), tuple(float(x) for x in fields[2:])))
    return lines


def pho_events(lines):
    """[(phone, start s)] of .pho lines: MBROLA places each phone at its cumulative duration."""
    starts = np.concatenate([[0.0], np.cumsum([line.duration_ms for line in lines])[:-1]]) / 1000
    return [(line.phone, float(s)) for line, s in zip(lines, starts)]


def format_pho(lines):
    return "".join(
        f"{line.phone}\t{line.duration_ms:.0f}" + "".join(f" {x:g}" for x in line.pitch) + "\n" for line in lines
    )


def perturb_pho(lines, tempo, phone_sd, pitch_factor, comma_pause_ms, rng):
    """Scale every phone's duration by `tempo` times a lognormal factor (sd `phone_sd`), set
    the pause at the comma (eSpeak's first long pause) to `comma_pause_ms`, and scale the
    pitch targets by `pitch_factor`. Durations are whole milliseconds (MBROLA rounds them)."""
    out, comma_done = [], False
    for line in lines:
        duration = line.duration_ms
        if line.phone == "_" and duration > 100 and not comma_done:
            duration, comma_done = comma_pause_ms, True
        elif duration > 1:
            duration = max(10.0, round(duration * tempo * float(np.exp(rng.normal(0.0, phone_sd)))))
        pitch = tuple(v * pitch_factor if k % 2 else v for k, v in enumerate(line.pitch))
        out.append(PhoLine(line.phone, duration, pitch))
    return out


def mbrola_recording(voice, rng, text):
    """(samples in [-1, 1], sample rate, [(label, start s)]) of one MBROLA recording."""
    database = MBROLA_DATA / voice / voice
    if not database.is_file() or not shutil.which("mbrola") or not shutil.which("espeak-ng"):
        raise MissingEngine(f"MBROLA voice {voice} (or mbrola / espeak-ng) is not installed: run benchmarks/install_tts.sh")
    speed = int(rng.uniform(130, 190))
    pho = subprocess.run(
        ["espeak-ng", "-v", f"mb-{voice}", "-s", str(speed), "-q", "--pho", text],
        capture_output=True, text=True, check=True,
    ).stdout
    lines = perturb_pho(
        parse_pho(pho), tempo=1.0, phone_sd=0.15, pitch_factor=float(rng.uniform(0.8, 1.25)),
        comma_pause_ms=float(rng.choice([1, 1, 60, 150, 300])), rng=rng,
    )
    with tempfile.TemporaryDirectory() as tmp:
        pho_path, wav_path = Path(tmp, "x.pho"), Path(tmp, "x.wav")
        pho_path.write_text(format_pho(lines), encoding="utf-8")
        done = subprocess.run(["mbrola", str(database), str(pho_path), str(wav_path)], capture_output=True, text=True)
        # A diphone the database lacks becomes silence ("Warning: x-y unknown, replaced with
        # _-_") or stops MBROLA ("Fatal error: Unknown recovery"): the truth would be wrong.
        if done.returncode != 0 or "unknown" in done.stderr.lower():
            raise ValueError(f"MBROLA voice {voice} cannot say {text!r}: {done.stderr.strip().splitlines()[:3]}")
        samples, rate = soundfile.read(str(wav_path), dtype="float64")
    return samples, rate, pho_events(lines)


# ---------------------------------------------------------------- eSpeak NG


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
        ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p), ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_EVENT_LIST_TERMINATED, _EVENT_PHONEME = 0, 7
_AUDIO_OUTPUT_SYNCHRONOUS, _INITIALIZE_PHONEME_EVENTS = 2, 1
_RATE, _PITCH, _RANGE = 1, 3, 4


class _Espeak:
    """libespeak-ng, loaded once, synthesising into memory with phoneme events."""

    def __init__(self):
        try:
            self.lib = ctypes.CDLL("libespeak-ng.so.1")
        except OSError:
            raise MissingEngine("libespeak-ng is not installed: run benchmarks/install_tts.sh") from None
        self.sample_rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS)
        self.chunks, self.events = [], []
        self._callback = _CALLBACK(self._collect)  # kept alive as long as the library may call it
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, count, events):
        if count > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            if events[i].type == _EVENT_PHONEME:
                self.events.append((events[i].id.string.decode("ascii", "replace"), events[i].sample))
            i += 1
        return 0

    def synthesise(self, voice, text, rate_wpm, pitch, pitch_range):
        self.chunks, self.events = [], []
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise MissingEngine(f"eSpeak NG has no voice {voice!r}")
        for parameter, value in ((_RATE, rate_wpm), (_PITCH, pitch), (_RANGE, pitch_range)):
            self.lib.espeak_SetParameter(parameter, int(value), 0)
        data = text.encode()
        self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None)
        self.lib.espeak_Synchronize()
        samples = np.concatenate(self.chunks).astype(np.float64) / 32768.0
        return samples, [(label, sample / self.sample_rate) for label, sample in self.events]


_ESPEAK = None


PLOSIVES = {"p", "b", "t", "d", "k", "g"}
NASALS = {"m", "n", "N"}
VOWELS = {"u:", "@", "O", "i:", "e:", "E", "a", "a:", "I", "U", "o:", "y:", "Y", "2:", "9", "6"}
# eSpeak NG writes exact zeros (give or take its output filter) where it is silent.
DIGITAL_SILENCE = 1e-4
# A nasal's release: the steepest rise of the level (over RELEASE_STEP_S) within its last
# RELEASE_SEARCH_S, if it rises by at least RELEASE_MIN_DB.
RELEASE_STEP_S = 0.010
RELEASE_SEARCH_S = 0.050
RELEASE_MIN_DB = 6.0


def nasal_release(samples, rate, start_s, end_s):
    """The time of a nasal's release into the following vowel (s), or None when its level
    does not rise clearly."""
    window = int(0.005 * rate)
    level = 10 * np.log10(np.convolve(samples**2, np.ones(window) / window, "same") + 1e-10)
    first = max(int(start_s * rate), int((end_s - RELEASE_SEARCH_S) * rate))
    last = int(end_s * rate)
    step = int(RELEASE_STEP_S * rate)
    if last - first <= step:
        return None
    rise = level[first + step:last] - level[first:last - step]
    best = int(np.argmax(rise))
    if rise[best] < RELEASE_MIN_DB:
        return None
    return (first + best + step // 2) / rate


def espeak_truth(samples, rate, events, vowels=VOWELS):
    """eSpeak NG's events put two boundaries where an annotator (or MFA) would not:

    - a stop's event marks its release; the closure before it is a stretch of digital silence
      at the end of the phone before. The closure belongs to the stop: each stop after a phone
      (not after a pause) starts where that silence starts;
    - a vowel's event after a nasal comes 10-35 ms after the nasal's release, at the end of
      the formant transition eSpeak generates as part of the nasal. The vowel starts at the
      release: the steepest rise of the level in the nasal's last 50 ms (`nasal_release`).

    `vowels`: the language's eSpeak NG vowel phonemes (German's by default)."""
    silent = np.abs(samples) < DIGITAL_SILENCE
    out = list(events)
    for k in range(1, len(events)):
        label, start = events[k]
        previous_label, previous_start = events[k - 1]
        if label in vowels and previous_label in NASALS:
            release = nasal_release(samples, rate, previous_start, start)
            if release is not None:
                out[k] = (label, release)
            continue
        if label not in PLOSIVES or previous_label in PAUSES:
            continue
        index = int(round(start * rate)) - 1
        first = index
        while first > 0 and silent[first - 1] and (first - 1) / rate > previous_start:
            first -= 1
        if index - first > 0.005 * rate:
            out[k] = (label, first / rate)
    return out


def espeak_recording(variant, rng, text, language="de"):
    """(samples, sample rate, [(label, start s)]) of one eSpeak NG recording."""
    global _ESPEAK
    if _ESPEAK is None:
        _ESPEAK = _Espeak()
    spoken = LANGUAGES[language]
    samples, events = _ESPEAK.synthesise(
        f"{spoken.espeak_language}+{variant}", text, rate_wpm=rng.uniform(130, 190), pitch=rng.uniform(25, 75),
        pitch_range=rng.uniform(30, 80),
    )
    return samples, _ESPEAK.sample_rate, espeak_truth(samples, _ESPEAK.sample_rate, events, spoken.espeak_vowels)


# ---------------------------------------------------------------- languages


@dataclass(frozen=True)
class Language:
    """One language of the benchmark: its phrase and lexicon, each engine's map from its phone
    symbols to the lexicon's phones, its MBROLA voices ({voice: sex}), eSpeak NG's name for it,
    and eSpeak NG's vowel phonemes in the phrase (for the vowel onset after a nasal)."""

    phrase_path: Path
    lexicon_path: Path
    phone_maps: dict  # {"mbrola": {symbol: phone}, "espeak": {symbol: phone}}
    mbrola_voices: dict
    espeak_language: str
    espeak_vowels: frozenset


LANGUAGE_DIR = Path(__file__).resolve().parent / "languages"


def _language(code, mbrola_map, espeak_map, mbrola_voices, espeak_language, espeak_vowels):
    folder = LANGUAGE_DIR / code
    return Language(folder / "phrase.txt", folder / "lexicon.txt", {"mbrola": mbrola_map, "espeak": espeak_map},
                    mbrola_voices, espeak_language, frozenset(espeak_vowels))


# MBROLA's phone names are the voices' own SAMPA dialects (Dutch CGN SAMPA writes long a as
# `a`, the American voices write i u AI where eSpeak NG writes i: u: aI, French SAMPA writes
# o~ a~ 2 where eSpeak NG writes O~ A~ Y): one map per engine.
_NL_COMMON = {"u": "u", "d": "d", "@": "ə", "m": "m", "I": "ɪ", "A": "ɑ", "x": "x", "h": "h", "t": "t", "E": "ɛ", "y": "y"}
_EN_COMMON = {"g": "ɡ", "U": "ʊ", "d": "d", "v": "v", "n": "n", "I": "ɪ", "N": "ŋ", "s": "s", "t": "t", "@": "ə", "m": "m", "j": "j"}
_FR_COMMON = {"b": "b", "Z": "ʒ", "u": "u", "m": "m", "@": "ə", "s": "s", "j": "j", "k": "k", "O": "ɔ", "a": "a", "l": "l", "e": "e", "v": "v"}
LANGUAGES = {
    "de": Language(PHRASE_PATH, LEXICON_PATH, {"mbrola": PHONE_MAP, "espeak": PHONE_MAP}, MBROLA_VOICES, "de", frozenset(VOWELS)),
    "nl": _language(
        "nl", {**_NL_COMMON, "G": "ɣ", "a": "aː"}, {**_NL_COMMON, "Q": "ɣ", "a:": "aː"},
        {"nl2": "male", "nl3": "female"}, "nl", {"u", "@", "I", "A", "a:", "E", "y"},
    ),
    "en": _language(
        "en",
        # en1 (British) writes i: u: aI, the American us1-us3 i u AI and t_h.
        {**_EN_COMMON, "i:": "iː", "i": "iː", "u:": "uː", "u": "uː", "aI": "aɪ", "AI": "aɪ", "t_h": "t"},
        {**_EN_COMMON, "i:": "iː", "u:": "uː", "aI": "aɪ"},
        {"en1": "male", "us1": "female", "us2": "male", "us3": "male"}, "en-us", {"U", "i:", "I", "aI", "@", "u:"},
    ),
    "fr": _language(
        "fr", {**_FR_COMMON, "o~": "ɔ̃", "a~": "ɑ̃", "R": "ʁ", "2": "ø"}, {**_FR_COMMON, "O~": "ɔ̃", "A~": "ɑ̃", "r": "ʁ", "Y": "ø"},
        {**dict.fromkeys(["fr1", "fr3", "fr5", "fr6", "fr7"], "male"), **dict.fromkeys(["fr2", "fr4"], "female")},
        "fr", {"O~", "u", "@", "Y", "O", "A~", "a", "e"},
    ),
}


def source_parts(source):
    """(engine, language) of a source name: `mbrola`, `espeak` (German) or `<engine>-<lang>`."""
    engine, dash, language = source.partition("-")
    language = language if dash else "de"
    if engine not in ("mbrola", "espeak") or language not in LANGUAGES:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
    return engine, language


# ---------------------------------------------------------------- recordings and corpora


def room(samples, rate, rng):
    """Leading and trailing silence, a noise floor (white plus 50 Hz hum) at a signal-to-noise
    ratio of 25-45 dB over the speech, a random level, at OUTPUT_RATE: (samples, lead s)."""
    lead, tail = rng.uniform(0.15, 0.8, size=2)
    speech = samples / (np.abs(samples).max() + 1e-12)
    speech_rms = np.sqrt(np.mean(speech[np.abs(speech) > 0.01] ** 2))
    padded = np.concatenate([np.zeros(int(lead * rate)), speech, np.zeros(int(tail * rate))])
    noise = rng.standard_normal(len(padded)) + 0.5 * np.sin(2 * np.pi * 50 * np.arange(len(padded)) / rate)
    noise *= speech_rms / np.sqrt(np.mean(noise**2)) * 10 ** (-rng.uniform(25, 45) / 20)
    out = (padded + noise) * rng.uniform(0.2, 0.9) / np.abs(padded + noise).max()
    return soxr.resample(out, rate, OUTPUT_RATE), float(int(lead * rate) / rate)


def make_recording(source, voice, rng):
    """(samples at OUTPUT_RATE, true phone Segments) of one recording."""
    engine, language = source_parts(source)
    text = LANGUAGES[language].phrase_path.read_text(encoding="utf-8").strip()
    if engine == "mbrola":
        samples, rate, events = mbrola_recording(voice, rng, text)
    else:
        samples, rate, events = espeak_recording(voice, rng, text, language)
    phones = truth_segments(events, len(samples) / rate, language, engine)
    out, lead = room(samples, rate, rng)
    return out, [Segment(p.start + lead, p.end + lead, p.label) for p in phones]


def voices(source):
    """{voice: sex} of a source."""
    engine, language = source_parts(source)
    return LANGUAGES[language].mbrola_voices if engine == "mbrola" else ESPEAK_VOICES


def phrase_and_lexicon(source):
    """(phrase path, lexicon path) of a source's language."""
    spoken = LANGUAGES[source_parts(source)[1]]
    return spoken.phrase_path, spoken.lexicon_path


def write_corpus(folder, source, n_recordings, seed, voice_names=None):
    """A corpus of `n_recordings` from `source`, voices drawn in turn from `voice_names` (all of
    the source's by default): `<session>-phrase.wav` (50 kHz), `truth/<session>.TextGrid` and
    `summary.csv` (official columns). Returns {session id: voice}."""
    folder = Path(folder)
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    pool = voice_names or sorted(voices(source))
    rng = np.random.default_rng(seed)
    drawn = {}
    rows = []
    for index in range(n_recordings):
        session = 1 + index
        voice = pool[int(rng.integers(len(pool)))]
        samples, phones = make_recording(source, voice, np.random.default_rng([seed, index]))
        soundfile.write(str(folder / f"{session}-phrase.wav"), samples, OUTPUT_RATE, subtype="PCM_16")
        duration = len(samples) / OUTPUT_RATE
        write_alignment(folder / "truth" / f"{session}.TextGrid", word_segments(phones, source_parts(source)[1]), phones, duration)
        drawn[session] = voice
        sex = voices(source)[voice]
        # One speaker per recording: the voices' timing and pitch vary from recording to recording.
        rows.append([session, "n", "2001-01-01", "", session, "1970-01-01", "w" if sex == "female" else "m", ""])
    with open(folder / "summary.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["AufnahmeID", "AufnahmeTyp", "AufnahmeDatum", "Diagnose", "SprecherID", "Geburtsdatum", "Geschlecht", "Pathologien"])
        writer.writerows(rows)
    return drawn
