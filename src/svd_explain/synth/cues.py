"""Pathology cues planted at chosen phones: where a pathological session's voice-source
perturbations act, and the table of those places that the analyses read.

With `cue_phones` "all" (the original corpus) a pathological session's perturbations act on the
whole recording. With a list of phones they act only within those phones (every occurrence in
the phrase), fading in and out over CUE_RAMP_S centred on the phone boundaries (raised-cosine
ramps), and the rest of the recording has the same speaker's healthy-like voice. Healthy
sessions, and any session of severity 0 (perturbation_scale 0), carry no cue anywhere.
"""
from dataclasses import dataclass

import numpy as np

from svd_explain.synth.phonetics import PHONES, VOICED_PLOSIVES

ALL_PHONES = "all"
# Raised-cosine fade of the cue at each phone boundary (half before, half after it).
CUE_RAMP_S = 0.02
CUE_COLUMNS = [
    "session_id", "speaker_id", "category", "planted", "severity", "phone", "phone_index", "word",
    "phone_start_s", "phone_end_s", "cue_start_s", "cue_end_s",
]


def check_cue_phones(cue_phones, words):
    """`cue_phones` ("all", or phones of the phrase `words` whose synthesis has a voice source)
    as ALL_PHONES or a sorted tuple; anything else raises ValueError naming the offenders."""
    if isinstance(cue_phones, str):
        if cue_phones != ALL_PHONES:
            raise ValueError(f"cue_phones must be {ALL_PHONES!r} or a list of phones, not {cue_phones!r}")
        return ALL_PHONES
    chosen = tuple(sorted(set(cue_phones)))
    if not chosen:
        raise ValueError(f"cue_phones is empty: name phones of the phrase, or {ALL_PHONES!r}")
    in_phrase = {p for word in words for p in word.phones}
    absent = [p for p in chosen if p not in in_phrase]
    if absent:
        raise ValueError(f"cue_phones {absent} do not occur in the phrase (its phones: {' '.join(sorted(in_phrase))})")
    voiceless = [p for p in chosen if PHONES[p].voicing == 0 and p not in VOICED_PLOSIVES]
    if voiceless:
        raise ValueError(f"cue_phones {voiceless} are voiceless: a voice-source cue cannot be heard in them")
    return chosen


@dataclass(frozen=True)
class Cue:
    """Where a planted cue acts: `spans` (start, end) in seconds, from the start of speech."""

    spans: tuple
    ramp_s: float = CUE_RAMP_S

    def weight(self, t):
        """The cue's weight (0..1) at times `t` (an array of seconds from the start of speech)."""
        t = np.asarray(t, dtype=float)
        half = self.ramp_s / 2
        weight = np.zeros_like(t)
        for start, end in self.spans:
            rise = np.clip((t - (start - half)) / self.ramp_s, 0.0, 1.0)
            fall = np.clip(((end + half) - t) / self.ramp_s, 0.0, 1.0)
            ramp = np.minimum(rise, fall)
            weight = np.maximum(weight, 0.5 - 0.5 * np.cos(np.pi * ramp))
        return weight

    def support(self):
        """The (start, end) stretches where the weight is above 0, merged where they touch."""
        half = self.ramp_s / 2
        merged = []
        for start, end in sorted(self.spans):
            start, end = start - half, end + half
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


def cue_for(phones, cue_phones):
    """The Cue over the phone segments labelled with one of `cue_phones` (checked), or None
    for ALL_PHONES (the perturbations act everywhere)."""
    if cue_phones == ALL_PHONES:
        return None
    return Cue(tuple((s.start, s.end) for s in phones if s.label in cue_phones))


def cue_rows(session, words, phones, cue_phones, severity):
    """The rows of the cue table (CUE_COLUMNS) for one recording: one per phone that carries
    the cue (every phone for ALL_PHONES), with times in seconds from the start of the
    recording. `words` and `phones` are the true segments; `planted` says whether this session
    carries a cue at all (a pathological session of severity > 0): healthy sessions get the
    same rows, unplanted, so that analyses can compare the same places."""
    rows = []
    half = 0.0 if cue_phones == ALL_PHONES else CUE_RAMP_S / 2
    for index, segment in enumerate(phones):
        if cue_phones != ALL_PHONES and segment.label not in cue_phones:
            continue
        word = next((w.label for w in words if w.start <= segment.start < w.end), "")
        rows.append({
            "session_id": int(session["session_id"]),
            "speaker_id": int(session["speaker_id"]),
            "category": session["category"],
            "planted": bool(severity > 0),
            "severity": float(severity),
            "phone": segment.label,
            "phone_index": index,
            "word": word,
            # Rounded to 0.1 ms, as the true TextGrids are.
            "phone_start_s": round(segment.start, 4),
            "phone_end_s": round(segment.end, 4),
            "cue_start_s": round(max(segment.start - half, 0.0), 4),
            "cue_end_s": round(segment.end + half, 4),
        })
    return rows
