"""A synthetic Saarbrücken Voice Database: real sessions, synthetic phrase recordings.

Sessions (ids, speakers, dates, sexes, labels) come from the real SVD session table; the
phrase "Guten Morgen, wie geht es Ihnen?" is synthesized at 50 kHz by a source-filter formant
synthesizer with per-speaker voices and category-dependent voice-source perturbations (on every
phone, or planted at chosen phones: synth/cues.py), and written in the official archive layout
with its true word and phone boundaries.

The names below are imported on first use, so that the workflow can check a configuration with
synth.cues and synth.phonetics at parse time without loading the synthesizer (scipy.signal)."""
from importlib import import_module

_EXPORTS = {
    "select_sessions": "svd_explain.synth.selection",
    "synthesize_recording": "svd_explain.synth.recording",
    "write_corpus": "svd_explain.synth.corpus",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
