"""A synthetic Saarbrücken Voice Database: real sessions, synthetic phrase recordings.

Sessions (ids, speakers, dates, sexes, labels) come from the real SVD session table; the
phrase "Guten Morgen, wie geht es Ihnen?" is synthesized at 50 kHz by a source-filter formant
synthesizer with per-speaker voices and category-dependent voice-source perturbations, and
written in the official archive layout with its true word and phone boundaries."""
from svd_explain.synth.corpus import write_corpus
from svd_explain.synth.recording import synthesize_recording
from svd_explain.synth.selection import select_sessions

__all__ = ["select_sessions", "synthesize_recording", "write_corpus"]
