"""Write a synthetic SVD corpus: the session table, the phrase recordings in the official
archive layout (or the legacy flat one) and the true word and phone boundaries.

    <out>/summary.csv                              official columns, rows of the real table
    <out>/data/<s>/sentnces/<s>-phrase.nsp         archive layout: NSP, 16-bit, 50 kHz
    <out>/<s>-phrase.wav                           flat layout: WAV, 16-bit, 50 kHz
    <out>/truth/<s>.TextGrid                       true `words` and `phones` tiers

and, where the caller asks for it, the table of the planted cues (synth/cues.py, CUE_COLUMNS):
one row per recording and phone that carries the pathology cue.
"""
import functools
import logging
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from svd_explain.catalog import CATEGORIES_TABLE, sessions_from_metadata
from svd_explain.nsp import write_nsp
from svd_explain.synth.cues import ALL_PHONES, CUE_COLUMNS, check_cue_phones, cue_rows
from svd_explain.synth.phonetics import LEXICON, PHRASE, phrase_words
from svd_explain.synth.recording import SAMPLE_RATE, session_voice, synthesize_recording
from svd_explain.synth.selection import select_sessions
from svd_explain.textgrids import write_alignment

log = logging.getLogger(__name__)

LAYOUTS = ("archive", "flat")


def recording_path(corpus_dir, session_id, layout):
    """Where a session's phrase recording lies in a corpus of the given layout."""
    if layout == "archive":
        return Path(corpus_dir, "data", str(session_id), "sentnces", f"{session_id}-phrase.nsp")
    if layout == "flat":
        return Path(corpus_dir, f"{session_id}-phrase.wav")
    raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")


def truth_path(corpus_dir, session_id):
    return Path(corpus_dir, "truth", f"{session_id}.TextGrid")


def to_int16(samples):
    """16-bit PCM of float samples in (-1, 1); samples at or beyond full scale are an error."""
    peak = float(np.max(np.abs(samples)))
    if not peak < 1.0:
        raise ValueError(f"samples reach {peak:.3f} of full scale: they would clip")
    return np.round(samples * 32767).astype(np.int16)


def write_recording(session, corpus_dir, layout, seed, perturbation_scale, words, cue_phones=ALL_PHONES):
    """Synthesize one session and write its audio and its true boundaries; returns its rows of
    the cue table."""
    samples, word_segments, phone_segments = synthesize_recording(session, seed, perturbation_scale, words, cue_phones)
    pcm = to_int16(samples)
    path = recording_path(corpus_dir, session["session_id"], layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout == "archive":
        write_nsp(path, pcm, SAMPLE_RATE, recorded=session["recorded"].to_pydatetime())
    else:
        soundfile.write(path, pcm, SAMPLE_RATE, subtype="PCM_16")
    duration = len(pcm) / SAMPLE_RATE
    write_alignment(truth_path(corpus_dir, session["session_id"]), word_segments, phone_segments, duration)
    severity = session_voice(session, seed, perturbation_scale).severity
    return cue_rows(session, word_segments, phone_segments, cue_phones, severity)


def write_corpus(
    out_dir, n_sessions, layout, seed, perturbation_scale, threads=1,
    summary_csv=None, lexicon=LEXICON, phrase=PHRASE, categories=CATEGORIES_TABLE,
    cue_phones=ALL_PHONES, cues_parquet=None, cues_tsv=None,
):
    """Write a synthetic corpus of `n_sessions` sessions drawn from the real session table
    (`summary_csv`, None for the one shipped with sbvoicedb) into the new or empty `out_dir`,
    synthesizing with `threads` processes. The phrase is pronounced as `lexicon` says; the
    perturbation profile follows each session's category under Huckvale's scheme in
    `categories`, and acts on `cue_phones` ("all", or a list of the phrase's phones; see
    synth/cues.py). The cue table (CUE_COLUMNS, sorted by session and phone position) goes to
    `cues_parquet` and `cues_tsv` where given. Returns the written session table."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    if perturbation_scale < 0:
        raise ValueError(f"perturbation_scale must be >= 0, got {perturbation_scale}")
    words = tuple(phrase_words(phrase, lexicon))
    cue_phones = check_cue_phones(cue_phones, words)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ValueError(f"{out_dir} is not empty: a corpus is written only into a new folder")

    table = select_sessions(summary_csv, n_sessions, seed)
    sessions, excluded = sessions_from_metadata(
        table, sessions="all", category_scheme="huckvale", mixed_labels="organic", categories_path=categories
    )
    if not excluded.empty:
        raise ValueError(f"session table rows that cannot be synthesized:\n{excluded.to_string(index=False)}")
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    log.info(
        "synthesizing %d sessions (%s) of %d speakers with %d process(es); pathology cues on %s",
        len(sessions), sessions["category"].value_counts().to_dict(), sessions["speaker_id"].nunique(), threads,
        "every phone" if cue_phones == ALL_PHONES else " ".join(cue_phones),
    )
    write_one = functools.partial(
        write_recording, corpus_dir=out_dir, layout=layout, seed=seed,
        perturbation_scale=perturbation_scale, words=words, cue_phones=cue_phones,
    )
    records = sessions.to_dict("records")
    every = max(len(records) // 10, 1)
    rows = []
    pool = ProcessPoolExecutor(threads) if threads > 1 else None
    try:
        written = pool.map(write_one, records, chunksize=4) if pool else map(write_one, records)
        for done, recording_rows in enumerate(written, 1):
            rows += recording_rows
            if done % every == 0 or done == len(records):
                log.info("%d / %d recordings written", done, len(records))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    table.to_csv(out_dir / "summary.csv", index=False, lineterminator="\n")
    cues = pd.DataFrame(rows, columns=CUE_COLUMNS).sort_values(["session_id", "phone_index"], ignore_index=True)
    if cues_parquet:
        cues.to_parquet(cues_parquet, index=False)
    if cues_tsv:
        cues.to_csv(cues_tsv, sep="\t", index=False, float_format="%.4f", lineterminator="\n")
    return table
