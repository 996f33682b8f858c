"""Training the Kaldi aligner on the corpus itself: every recording reads the same phrase, so a
few dozen recordings train usable models, provided nothing voice-specific is assumed.

  1. Flat start (flatstart.py): a first segmentation of every recording into the phrase's
     phones and pauses, by dynamic programming, with no acoustic model and no threshold.
  2. Broad classes (classes.py): sonorants, nasals, stops, fricatives, by the phones' manner
     of articulation.
  3. The tied model (phones of one class share their GMMs) from the flat start, then Viterbi
     EM `em_iterations` times, every mixture split in two at the iterations in `split_at`, up to
     `max_gaussians`. Its transitions stay Kaldi's defaults: with shared GMMs, learnt self-loop
     probabilities alone would decide where one phone of a class ends and the next begins.
  4. The phone model (one GMM per phone state) from the tied model's alignments, then
     PHONE_ITERATIONS of Viterbi EM with its transitions learnt; it only places the boundaries
     inside runs of one class (aligner.py).
  5. The guard (guard.py) on every training recording. More than guard.MAX_DOUBTFUL_SHARE
     doubtful means a degenerate solution: training restarts from the next initialisation in
     STRATEGIES (phone models from the flat start, untied), and when every one is degenerate it
     fails, saying what was implausible. It never passes silently.

Measured against today's aligner on speech this project did not write: benchmarks/align_external.py."""
import logging
import time
from pathlib import Path

import numpy as np

from svd_explain.align import estimation
from svd_explain.align.aligner import Aligner
from svd_explain.align.classes import phone_classes, tying
from svd_explain.align.features import (
    FRAME_SHIFT_S,
    AlignmentFailure,
    check_sample_rate,
    prepare_recording,
    read_audio,
)
from svd_explain.align.flatstart import flat_start
from svd_explain.align.guard import MAX_DOUBTFUL_SHARE, Plausibility, corpus_problems, recording_problems
from svd_explain.align.hmm import PHONE_STATES, GmmHmm, Lang
from svd_explain.align.lexicon import pronounce, read_lexicon, read_transcript
from svd_explain.logs import progress

log = logging.getLogger(__name__)

PHONE_ITERATIONS = 10
PHONE_SPLIT_AT = (2, 4, 6)


class DegenerateTraining(RuntimeError):
    """Every initialisation converged to implausible alignments."""


def train_tied(recordings, words, lexicon, spans, em_iterations, split_at, max_gaussians, silence_probability, rng):
    """The tied model and the phone classes, trained from the flat start `spans`."""
    phones = [p for _, pron in pronounce(words, lexicon) for p in pron]
    classes = phone_classes(phones)
    feats = np.concatenate([r.feats for r in recordings])
    model = GmmHmm.initial(Lang(lexicon), feats.mean(axis=0), feats.var(axis=0), tying(classes))
    estimation.estimate_from_spans(model, recordings, phones, spans)
    graph = model.graph(words, silence_probability)
    for iteration in range(1, em_iterations + 1):
        aligned, loglike, occupancy = estimation.em_iteration(model, [r.feats for r in recordings], graph, update_transitions=False)
        if iteration in split_at:
            estimation.split(model, occupancy, max_gaussians, rng)
        log.info("tied model, iteration %d: %d/%d aligned, log-likelihood %.3f per frame, %d Gaussians",
                 iteration, aligned, len(recordings), loglike, model.am.num_gauss)
    return model, classes


def train_phones(recordings, words, lexicon, spans, iterations, split_at, max_gaussians, silence_probability, rng):
    """A phone model (no tying) trained from `spans`."""
    phones = [p for _, pron in pronounce(words, lexicon) for p in pron]
    feats = np.concatenate([r.feats for r in recordings])
    model = GmmHmm.initial(Lang(lexicon), feats.mean(axis=0), feats.var(axis=0))
    estimation.estimate_from_spans(model, recordings, phones, spans)
    graph = model.graph(words, silence_probability)
    for iteration in range(1, iterations + 1):
        aligned, loglike, occupancy = estimation.em_iteration(model, [r.feats for r in recordings], graph)
        if iteration in split_at:
            estimation.split(model, occupancy, max_gaussians, rng)
        log.info("phone model, iteration %d: %d/%d aligned, log-likelihood %.3f per frame, %d Gaussians",
                 iteration, aligned, len(recordings), loglike, model.am.num_gauss)
    return model


def aligned_spans(model: GmmHmm, recordings, words, silence_probability) -> dict:
    graph = model.graph(words, silence_probability)
    spans = {}
    for recording in recordings:
        alignment = model.viterbi(graph, recording.feats)
        if alignment is not None:
            spans[recording.key] = estimation.phone_spans(model, alignment)
    return spans


def broad_classes(recordings, words, lexicon, spans, settings, rng):
    """Strategy 1: the tied model for class boundaries, a phone model inside class runs."""
    tied, classes = train_tied(recordings, words, lexicon, spans, **settings, rng=rng)
    phone_spans = aligned_spans(tied, recordings, words, settings["silence_probability"])
    phones = train_phones(recordings, words, lexicon, phone_spans, PHONE_ITERATIONS, PHONE_SPLIT_AT,
                          settings["max_gaussians"], settings["silence_probability"], rng)
    return tied, phones, classes


def untied_phones(recordings, words, lexicon, spans, settings, rng):
    """Strategy 2 (a restart): phone models from the flat start, no tying (Kaldi's
    train_mono.sh with this flat start)."""
    phones = train_phones(recordings, words, lexicon, spans, settings["em_iterations"], settings["split_at"],
                          settings["max_gaussians"], settings["silence_probability"], rng)
    return phones, phones, {p: p for p in phones.lang.phones[1:]}


STRATEGIES = (("broad classes", broad_classes), ("untied phones", untied_phones))


def guard_training(aligner: Aligner, recordings, words):
    """Align the training recordings, fit the plausibility statistics on them, and return
    them with {key: problems} of the doubtful ones."""
    results = {r.key: aligner.align(r.feats, words) for r in recordings}
    found = {k: a for k, a in results.items() if a is not None}
    if not found:
        raise DegenerateTraining("no training recording could be aligned")
    durations = [[(e - f) * FRAME_SHIFT_S for f, e in a.spans] for a in found.values()]
    plausibility = Plausibility.fit(durations, [a.loglike for a in found.values()])
    problems = {}
    for recording in recordings:
        result = results[recording.key]
        if result is None:
            problems[recording.key] = ["no path through the alignment graph"]
            continue
        issues = recording_problems(result.phones, result.spans, result.pauses, recording.levels, recording.span)
        issues += corpus_problems(result.phones, result.spans, result.loglike, plausibility)
        if issues:
            problems[recording.key] = issues
    return plausibility, problems


def train_aligner(wav_paths, phrase_path, lexicon_path, model_dir, em_iterations, split_at,
                  max_gaussians, silence_probability, sample_rate, seed, strategies=STRATEGIES) -> dict:
    """Train the aligner on the recordings `wav_paths` (each named by its file stem), which all
    read the phrase in `phrase_path`, and save it to `model_dir`. Returns the training summary
    (also stored in model.json).

    Recordings that are too short or silent are left out, with their reason in the summary (the
    per-recording alignment reports them again). Fewer than two usable recordings raise, and
    so does a training that every strategy leaves degenerate (DegenerateTraining). The only
    random step, the direction in which a Gaussian splits, is drawn from `seed`."""
    started = time.perf_counter()
    words = read_transcript(phrase_path)
    lexicon = read_lexicon(lexicon_path)
    pronunciations = pronounce(words, lexicon)
    phones = [p for _, pron in pronunciations for p in pron]
    usable, excluded = [], {}
    for path in map(Path, wav_paths):
        samples, rate = read_audio(path)
        check_sample_rate(path, rate, sample_rate)
        try:
            # One frame per HMM state at least: the shortest path through the phrase.
            usable.append(prepare_recording(path.stem, samples, rate, PHONE_STATES * len(phones)))
        except AlignmentFailure as failure:
            excluded[path.stem] = str(failure)
    if len(usable) < 2:
        raise ValueError(f"only {len(usable)} usable recording(s) to train the aligner on; excluded: {excluded}")
    log.info("training on %d recordings (%d excluded), %d phones per recording", len(usable), len(excluded), len(phones))

    spans = flat_start(usable, pronunciations)
    log.info("flat start: the phrase fits %d of %d recordings", len(spans), len(usable))
    if len(spans) < 2:
        raise ValueError("fewer than two recordings can hold the phrase for the flat start")
    settings = {"em_iterations": em_iterations, "split_at": set(split_at), "max_gaussians": max_gaussians,
                "silence_probability": silence_probability}
    attempts = []
    for name, strategy in strategies:
        tied, phone_model, classes = strategy(usable, words, lexicon, spans, settings, np.random.default_rng(seed))
        aligner = Aligner(tied, phone_model, classes, sample_rate, silence_probability, None, {})
        plausibility, doubtful = guard_training(aligner, usable, words)
        share = len(doubtful) / len(usable)
        attempts.append({"strategy": name, "doubtful": len(doubtful), "examples": dict(list(doubtful.items())[:3])})
        if share <= MAX_DOUBTFUL_SHARE:
            break
        log.warning("training (%s) looks degenerate: %d of %d alignments implausible, e.g. %s",
                    name, len(doubtful), len(usable), next(iter(doubtful.items())))
    else:
        raise DegenerateTraining(
            "the aligner converged to implausible alignments with every initialisation: "
            + "; ".join(f"{a['strategy']}: {a['doubtful']} of {len(usable)} doubtful, e.g. {next(iter(a['examples'].items()))}"
                        for a in attempts)
        )
    aligner.plausibility = plausibility
    aligner.training = {
        "transcript": words,
        "strategy": name,
        "attempts": attempts,
        "em_iterations": em_iterations,
        "split_at": sorted(split_at),
        "max_gaussians": max_gaussians,
        "seed": seed,
        "recordings": len(wav_paths),
        "trained_on": len(usable),
        "flat_start_on": len(spans),
        "excluded": excluded,
        "doubtful": {k: "; ".join(v) for k, v in doubtful.items()},
        "seconds": round(time.perf_counter() - started, 2),
    }
    aligner.save(model_dir)
    progress.info("aligner trained (%s) in %.1f s; %d of %d training alignments doubtful",
             name, aligner.training["seconds"], len(doubtful), len(usable))
    return aligner.training
