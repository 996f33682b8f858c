"""Training the Kaldi GMM-HMM aligner on the corpus itself (Kaldi's steps/train_mono.sh, with
the flat start of `flatstart.py`): every recording reads the same phrase, so a few hundred
recordings train good phone models.

  1. Flat start (flatstart.py): a first phone segmentation of every recording, one Gaussian per
     HMM state estimated from it.
  2. EM, `em_iterations` times: Viterbi realignment against the phrase's graph (optional silence
     between words), ML re-estimation of the GMMs and of the transition probabilities; at the
     iterations in `split_at` every mixture is split in two, up to `max_gaussians` per state.
"""
import logging
import time
from pathlib import Path

import numpy as np

from svd_explain.align.flatstart import flat_start, spans_to_pdfs, spectral_measures
from svd_explain.align.kaldi import (
    PHONE_STATES,
    AlignmentFailure,
    GmmHmm,
    Lang,
    check_sample_rate,
    prepare_recording,
    read_audio,
)
from svd_explain.align.lexicon import pronounce, read_lexicon, read_transcript

log = logging.getLogger(__name__)


def train_aligner(wav_paths, phrase_path, lexicon_path, model_dir, em_iterations, split_at,
                  max_gaussians, silence_probability, sample_rate, seed):
    """Train a monophone aligner on the recordings `wav_paths` (each named by its file stem), which
    all read the phrase in `phrase_path`, and save it to `model_dir`. Returns the training
    summary (also stored in model.json).

    Recordings that are too short or silent are left out, with their reason in the summary (the
    per-recording alignment reports them again). Fewer than two usable recordings raise. The
    only random step, the direction in which a Gaussian splits, is drawn from `seed`."""
    started = time.perf_counter()
    words = read_transcript(phrase_path)
    lexicon = read_lexicon(lexicon_path)
    phones = [p for _, pron in pronounce(words, lexicon) for p in pron]
    model_lang = Lang(lexicon)
    usable, measures, excluded = [], {}, {}
    for path in map(Path, wav_paths):
        samples, rate = read_audio(path)
        check_sample_rate(path, rate, sample_rate)
        try:
            # One frame per HMM state at least: the shortest path through the phrase.
            recording = prepare_recording(path.stem, samples, rate, PHONE_STATES * len(phones))
        except AlignmentFailure as failure:
            excluded[path.stem] = str(failure)
            continue
        usable.append(recording)
        measures[recording.key] = spectral_measures(samples, rate)
    if len(usable) < 2:
        raise ValueError(f"only {len(usable)} usable recording(s) to train the aligner on; excluded: {excluded}")
    log.info("training on %d recordings (%d excluded), %d phones per recording", len(usable), len(excluded), len(phones))

    spans = flat_start(usable, measures, words, lexicon, silence_probability)
    first = [r for r in usable if r.key in spans]
    if len(first) < 2:
        raise ValueError("fewer than two recordings fit the phrase's broad classes for the flat start")
    feats = np.concatenate([r.feats for r in usable])
    model = GmmHmm.initial(model_lang, feats.mean(axis=0), feats.var(axis=0))
    accs, loglike = model.accumulate(
        [r.feats for r in first], [spans_to_pdfs(model, phones, spans[r.key], len(r.feats)) for r in first]
    )
    model.update(accs)
    log.info("flat start on %d recordings: log-likelihood %.3f per frame", len(first), loglike)

    rng = np.random.default_rng(seed)
    history = []
    for iteration in range(1, em_iterations + 1):
        aligned, loglike, occupancy = model.em_iteration([r.feats for r in usable], model.graph(words, silence_probability))
        gaussians = model.split(occupancy, max_gaussians, rng) if iteration in split_at else model.am.num_gauss
        history.append({"iteration": iteration, "aligned": aligned, "loglike_per_frame": round(float(loglike), 4), "gaussians": gaussians})
        log.info("iteration %d: %d/%d aligned, log-likelihood %.3f per frame, %d Gaussians",
                 iteration, aligned, len(usable), loglike, gaussians)

    summary = {
        "sample_rate": sample_rate,
        "silence_probability": silence_probability,
        "training": {
            "transcript": words,
            "em_iterations": em_iterations,
            "split_at": list(split_at),
            "max_gaussians": max_gaussians,
            "seed": seed,
            "recordings": len(wav_paths),
            "trained_on": len(usable),
            "flat_start_on": len(first),
            "excluded": excluded,
            "history": history,
            "seconds": round(time.perf_counter() - started, 2),
        },
    }
    model.save(model_dir, summary)
    return summary
