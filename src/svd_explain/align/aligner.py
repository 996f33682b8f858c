"""The trained Kaldi aligner: two GMM-HMMs and how they combine to align one recording.

- `tied`: phones of one broad class share their GMMs (classes.py). Its Viterbi alignment
  against the phrase (with optional silence between words) fixes every boundary between
  phones of different classes, and the pauses.
- `phones`: one GMM per phone state. Inside a run of adjacent phones of one class (/n m/ in
  "guten Morgen", /ɔ ʁ/ where /ʁ/ is vocalic), the tied model cannot tell the phones apart; there
  the phone model's own Viterbi search, over the run's frames only, places the boundaries
  between them (each state at least one frame). So neither the phone models' freedom to drift
  nor the tied model's blindness inside a class decides a boundary alone.

The aligner's folder:
  model.json   format, the settings alignment needs, {phone: class}, the guard's
               plausibility statistics (guard.py), the training summary
  tied/        the tied model (hmm.py's folder format)
  phones/      the phone model"""
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from svd_explain.align.classes import class_runs
from svd_explain.align.guard import Plausibility
from svd_explain.align.hmm import SILENCE, GmmHmm
from svd_explain.align.lexicon import pronounce

# 2: features normalised in variance too, a tied and a phone model, plausibility statistics.
MODEL_FORMAT = 2


@dataclass(frozen=True)
class Alignment:
    """One recording aligned: frame spans of the phrase's phones and of the pauses between
    them, and the tied model's log-likelihood per frame."""

    phones: list
    spans: list
    pauses: list
    loglike: float


@dataclass
class Aligner:
    tied: GmmHmm
    phones: GmmHmm
    classes: dict
    sample_rate: int
    silence_probability: float
    plausibility: Plausibility | None
    training: dict

    def align(self, feats, words) -> Alignment | None:
        """The alignment of one recording's features to the transcript `words`, or None when
        no path through the tied model's graph fits."""
        phones = [p for _, pron in pronounce(words, self.tied.lang.lexicon) for p in pron]
        alignment = self.tied.viterbi(self.tied.graph(words, self.silence_probability), feats)
        if alignment is None:
            return None
        segments = self.tied.phone_segments(alignment)
        spans = [[first, end] for phone, first, end in segments if phone != SILENCE]
        pauses = [(first, end) for k, (phone, first, end) in enumerate(segments)
                  if phone == SILENCE and 0 < k < len(segments) - 1]
        for first, end in class_runs(phones, self.classes):
            self._split_run(feats, phones, spans, first, end)
        loglike = float(self.tied.frame_loglikes(feats, alignment).mean())
        return Alignment(phones, [tuple(s) for s in spans], pauses, loglike)

    def _split_run(self, feats, phones, spans, first, end):
        """Re-place the boundaries inside each stretch of touching phones first..end-1 with
        the phone model (a pause inside the run splits it)."""
        k = first
        while k < end - 1:
            last = k
            while last + 1 < end and spans[last][1] == spans[last + 1][0]:
                last += 1
            if last > k:
                start, stop = spans[k][0], spans[last][1]
                owner = [m for m in range(k, last + 1) for _ in self.phones.state_pdfs(phones[m])]
                pdfs = [pdf for m in range(k, last + 1) for pdf in self.phones.state_pdfs(phones[m])]
                path = chain_viterbi(self.phones.pdf_loglikes(feats[start:stop], pdfs))
                if path is not None:
                    owners = np.asarray(owner)[path]
                    for m in range(k, last):
                        boundary = start + int(np.flatnonzero(owners <= m)[-1]) + 1
                        spans[m][1] = spans[m + 1][0] = boundary
            k = last + 1

    # -- storage
    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.tied.save(folder / "tied")
        self.phones.save(folder / "phones")
        settings = {
            "format": MODEL_FORMAT,
            "sample_rate": self.sample_rate,
            "silence_probability": self.silence_probability,
            "classes": self.classes,
            "plausibility": self.plausibility.to_json() if self.plausibility else None,
            "training": self.training,
        }
        (folder / "model.json").write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder) -> "Aligner":
        folder = Path(folder)
        settings = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        if settings.get("format") != MODEL_FORMAT:
            raise ValueError(
                f"{folder}: aligner model format {settings.get('format')}, this version reads format "
                f"{MODEL_FORMAT}: retrain it (leave align.kaldi.model empty once)"
            )
        plausibility = settings["plausibility"]
        return cls(
            GmmHmm.load(folder / "tied"), GmmHmm.load(folder / "phones"), settings["classes"],
            settings["sample_rate"], settings["silence_probability"],
            Plausibility.from_json(plausibility) if plausibility else None, settings["training"],
        )


def chain_viterbi(loglikes: np.ndarray):
    """The best state of every frame for a left-to-right chain of states (columns of
    `loglikes`, frames x states), each state at least one frame, no transition costs; None when
    there are fewer frames than states."""
    frames, states = loglikes.shape
    if frames < states:
        return None
    score = np.full(states, -np.inf)
    score[0] = loglikes[0, 0]
    moved = np.zeros((frames, states), dtype=bool)
    for t in range(1, frames):
        advance = np.concatenate([[-np.inf], score[:-1]])
        moved[t] = advance > score
        score = np.maximum(score, advance) + loglikes[t]
    state, path = states - 1, [states - 1]
    for t in range(frames - 1, 0, -1):
        state -= int(moved[t, state])
        path.append(state)
    return path[::-1]
