"""Estimating a GmmHmm (hmm.py) from frames: statistics, ML updates, Viterbi EM and Gaussian
splitting, as Kaldi's gmm-acc-stats-ali, gmm-est and gmm-align-compiled do them. Only training
imports this module."""
import kaldi_hmm_gmm as khg
import numpy as np

from svd_explain.align.hmm import SILENCE, GmmHmm, am_from_arrays, gmm_arrays

# Means, variances and weights; the transitions are re-estimated by the transition model.
GMM_FLAGS = int(khg.str_to_gmm_flags("mvw"))
# A Gaussian is split only when each half keeps at least this many frames.
MIN_FRAMES_PER_GAUSSIAN = 20
SPLIT_PERTURB_FACTOR = 0.01


def accumulate(model: GmmHmm, feats_list, pdf_lists):
    """GMM statistics of frames assigned to pdfs (one array of pdf ids per recording); returns
    the accumulator and the average log-likelihood per frame."""
    accs = khg.AccumAmDiagGmm()
    accs.init(model=model.am, flags=GMM_FLAGS)
    total, frames = 0.0, 0
    for feats, pdfs in zip(feats_list, pdf_lists):
        for frame, pdf in zip(feats, pdfs.tolist()):
            total += accs.accumulate_for_gmm(model.am, frame, pdf, 1.0)
        frames += len(pdfs)
    return accs, total / frames


def update(model: GmmHmm, accs, transition_counts=None) -> None:
    """ML re-estimation of the GMMs and, given counts per transition-id, the transitions."""
    khg.mle_am_diag_gmm_update(
        config=khg.MleDiagGmmOptions(), amdiag_gmm_acc=accs, flags=GMM_FLAGS, am_gmm=model.am
    )
    if transition_counts is not None:
        model.trans_model.mle_update(transition_counts, khg.MleTransitionUpdateConfig())


def spans_to_pdfs(model: GmmHmm, phones, spans, total_frames: int) -> np.ndarray:
    """The pdf of every frame: each phone's frames spread evenly over its states, the frames
    outside the phones (leading, trailing silence and pauses) over the silence states."""
    pdfs = np.empty(total_frames, dtype=np.int64)

    def spread(states, first, last):
        for state, frames in zip(states, np.array_split(np.arange(first, last), len(states))):
            pdfs[frames] = state

    silence = model.state_pdfs(SILENCE)
    previous_end = 0
    for phone, (first, last) in zip(phones, spans):
        spread(silence, previous_end, first)
        spread(model.state_pdfs(phone), first, last)
        previous_end = last
    spread(silence, previous_end, total_frames)
    return pdfs


def estimate_from_spans(model: GmmHmm, recordings, phones, spans: dict) -> float:
    """Re-estimate the GMMs from phone spans ({key: [(first, end)] per phone}) of the
    recordings that have them; returns the log-likelihood per frame."""
    used = [r for r in recordings if r.key in spans]
    accs, loglike = accumulate(
        model, [r.feats for r in used], [spans_to_pdfs(model, phones, spans[r.key], len(r.feats)) for r in used]
    )
    update(model, accs)
    return loglike


def em_iteration(model: GmmHmm, feats_list, graph, update_transitions: bool = True):
    """One Viterbi-EM pass over recordings (their features) that all read `graph`'s
    transcript: realign, then re-estimate the GMMs (and the transitions). Returns the number
    of recordings aligned, the log-likelihood per frame and the frame count of every pdf."""
    alignments = [model.viterbi(graph, feats) for feats in feats_list]
    aligned = [(f, a) for f, a in zip(feats_list, alignments) if a is not None]
    if not aligned:
        raise ValueError("no recording could be aligned")
    accs, loglike = accumulate(model, [f for f, _ in aligned], [model.pdf_of_transition[a] for _, a in aligned])
    counts = None
    if update_transitions:
        counts = np.bincount(np.concatenate([a for _, a in aligned]), minlength=len(model.pdf_of_transition))
        counts = counts.astype(np.float64)
    update(model, accs, counts)
    occupancy = [accs.get_acc(pdf).occupancy.sum() for pdf in range(model.am.num_pdfs)]
    return len(aligned), loglike, occupancy


def split(model: GmmHmm, occupancy_per_pdf, max_gaussians: int, rng) -> int:
    """Split every mixture in two, up to `max_gaussians` and while each Gaussian keeps
    MIN_FRAMES_PER_GAUSSIAN frames; returns the total number of Gaussians.

    As Kaldi's DiagGmm::Split: the heaviest component is halved into two whose means move
    SPLIT_PERTURB_FACTOR standard deviations apart along a random direction; the direction
    is drawn from `rng` (Kaldi's own draws are not seeded, which makes training differ
    from run to run)."""
    mixtures = []
    for pdf, occupancy in enumerate(occupancy_per_pdf):
        weights, means, variances = gmm_arrays(model.am.get_pdf(pdf))
        target = min(2 * len(weights), max_gaussians, int(occupancy // MIN_FRAMES_PER_GAUSSIAN))
        while len(weights) < target:
            k = int(np.argmax(weights))
            offset = SPLIT_PERTURB_FACTOR * np.sqrt(variances[k]) * rng.standard_normal(means.shape[1])
            weights[k] /= 2
            weights = np.append(weights, weights[k])
            means = np.vstack([means, means[k] + offset])
            means[k] -= offset
            variances = np.vstack([variances, variances[k]])
        mixtures.append((weights, means, variances))
    model.am = am_from_arrays(mixtures)
    return model.am.num_gauss


def phone_spans(model: GmmHmm, alignment) -> list[tuple[int, int]]:
    """[(first frame, end frame)] of the speech phones of an alignment, in order."""
    return [(first, end) for phone, first, end in model.phone_segments(alignment) if phone != SILENCE]
