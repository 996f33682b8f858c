"""Aligning one recording with a trained Kaldi aligner (the per-recording job): its TextGrid and
its status, with the guard's verdict."""
import logging

from svd_explain.align.aligner import Aligner
from svd_explain.align.features import AlignmentFailure, check_sample_rate, prepare_recording, read_audio
from svd_explain.align.guard import corpus_problems, doubtful_reason, recording_problems
from svd_explain.align.hmm import BEAM, RETRY_BEAM, segments_to_alignment
from svd_explain.align.lexicon import read_transcript
from svd_explain.align.status import write_status
from svd_explain.textgrids import write_alignment

log = logging.getLogger(__name__)


def align_samples(aligner: Aligner, words, samples, rate, key="recording"):
    """(word Segments, phone Segments, problems) of one recording; AlignmentFailure when it
    cannot be aligned (too short, silent, no path through the graph). `problems` lists what
    the guard found implausible (empty when the alignment looks right)."""
    recording = prepare_recording(key, samples, rate, aligner.tied.min_frames(words))
    result = aligner.align(recording.feats, words)
    if result is None:
        raise AlignmentFailure(f"no path through the alignment graph (beam {BEAM:g}, retry beam {RETRY_BEAM:g})")
    segments = [(phone, first, end) for phone, (first, end) in zip(result.phones, result.spans)]
    word_segments, phone_segments = segments_to_alignment(aligner.tied.lang, segments, words, recording.duration)
    problems = recording_problems(result.phones, result.spans, result.pauses, recording.levels, recording.span)
    if aligner.plausibility is not None:
        problems += corpus_problems(result.phones, result.spans, result.loglike, aligner.plausibility)
    return word_segments, phone_segments, problems


def align_recording(wav_path, model_dir, phrase_path, textgrid_path, status_path, session_id) -> bool:
    """Align one recording: writes its TextGrid and its status JSON; returns whether it was
    aligned.

    A recording that cannot be aligned gets a TextGrid with empty tiers spanning it and a
    status with aligned=false and the reason; one the guard finds implausible keeps its
    alignment, with doubtful=true and what was implausible. Neither raises."""
    aligner = Aligner.load(model_dir)
    words = read_transcript(phrase_path)
    samples, rate = read_audio(wav_path)
    check_sample_rate(wav_path, rate, aligner.sample_rate)
    duration = len(samples) / rate
    try:
        word_segments, phone_segments, problems = align_samples(aligner, words, samples, rate, session_id)
    except AlignmentFailure as failure:
        log.warning("session %s not aligned: %s", session_id, failure)
        write_alignment(textgrid_path, [], [], duration)
        write_status(status_path, session_id, False, str(failure))
        return False
    write_alignment(textgrid_path, word_segments, phone_segments, duration)
    if problems:
        log.warning("session %s: alignment doubtful: %s", session_id, "; ".join(problems))
        write_status(status_path, session_id, True, doubtful_reason(problems), doubtful=True)
    else:
        write_status(status_path, session_id, True)
    log.info("session %s: %d words, %d phones aligned", session_id, len(word_segments), len(phone_segments))
    return True
