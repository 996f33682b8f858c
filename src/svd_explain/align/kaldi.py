"""A Kaldi GMM-HMM forced aligner built on the `kaldi-hmm-gmm`, `kaldifst` and
`kaldi-native-fbank` wheels: the model, its features and the Viterbi alignment of one recording.
Training (flat start and EM) is in `training.py` and `flatstart.py`.

Features: 13 MFCC (Kaldi's defaults, `snip_edges=False`) + deltas + delta-deltas, mean-normalised
per recording. Model: monophone HMMs (3 states per phone, 5 for silence, Kaldi's standard
topologies) with one diagonal GMM per state. Graph: the transcript's words with optional silence
before, between and after them.

The trained model is a folder of plain files (no pickle):
  phones.txt, words.txt  Kaldi symbol tables (`<eps> 0`, then one symbol per line)
  lexicon.txt            word<TAB>phones the model was trained with
  topo                   Kaldi HMM topology text, one entry per phone, holding the trained
                         transition probabilities (the wheels cannot set them directly, but a
                         TransitionModel built from this topology carries exactly these values)
  gmm.npz                the diagonal GMMs: `num_gauss` (per pdf), then `weights`, `means`,
                         `variances` of all Gaussians stacked in pdf order (numpy arrays only,
                         loaded with allow_pickle=False)
  model.json             format version, settings used at alignment time, training summary
"""
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import kaldi_hmm_gmm as khg
import kaldi_native_fbank as knf
import kaldifst
import numpy as np
import soundfile

from svd_explain.align.lexicon import pronounce, read_lexicon, read_transcript
from svd_explain.align.status import write_status
from svd_explain.textgrids import Segment, write_alignment

log = logging.getLogger(__name__)

MODEL_FORMAT = 1
SILENCE = "sil"
FRAME_SHIFT_S = 0.010
FRAME_LENGTH_S = 0.025
NUM_CEPS = 13
DELTA_ORDER = 2
PHONE_STATES = 3
SILENCE_STATES = 5
# Kaldi's alignment settings (steps/align_si.sh): acoustic scale 0.1, transition probabilities
# added once at alignment time with self-loops scaled by 0.1.
ACOUSTIC_SCALE = 0.1
TRANSITION_SCALE = 1.0
SELF_LOOP_SCALE = 0.1
BEAM = 10.0
RETRY_BEAM = 40.0
# A Gaussian is split only when each half keeps at least this many frames.
MIN_FRAMES_PER_GAUSSIAN = 20
SPLIT_PERTURB_FACTOR = 0.01
# Means, variances and weights; the transitions are re-estimated by the transition model.
GMM_FLAGS = int(khg.str_to_gmm_flags("mvw"))
# Speech detection from frame levels: a recording whose frame levels span less than this has no
# speech to align; frames above floor + SPEECH_THRESHOLD * (peak - floor) are speech.
MIN_DYNAMIC_RANGE_DB = 10.0
SPEECH_THRESHOLD = 0.2
# Kaldi's default dither (1 on the 16-bit scale), drawn from a fixed seed so that features are
# reproducible; it keeps digital silence from collapsing the silence model's variance.
DITHER = 1.0
DITHER_SEED = 0


class AlignmentFailure(Exception):
    """A recording that cannot be aligned; the message is the reason written to the tables."""


# ---------------------------------------------------------------- audio and features


def read_audio(path):
    """Mono samples in [-1, 1] (float64) and the sample rate; other channel counts raise."""
    samples, sample_rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    if samples.shape[1] != 1:
        raise ValueError(f"{path}: expected mono audio, got {samples.shape[1]} channels")
    return samples[:, 0], sample_rate


def num_frames(num_samples, sample_rate):
    """Frames of a recording with `snip_edges=False`: one per 10 ms, centred on it."""
    shift = round(FRAME_SHIFT_S * sample_rate)
    return (num_samples + shift // 2) // shift


def frame_to_time(frame):
    """The time (s) of the boundary before `frame`: frame f is centred at (f + 0.5) * 10 ms with
    `snip_edges=False`, so the boundary between frames f - 1 and f lies at f * 10 ms."""
    return frame * FRAME_SHIFT_S


def mfcc_features(samples, sample_rate):
    """MFCC + deltas + delta-deltas (frames x 39, float32), mean-normalised per recording."""
    opts = knf.MfccOptions()
    opts.frame_opts.samp_freq = sample_rate
    opts.frame_opts.frame_shift_ms = FRAME_SHIFT_S * 1000
    opts.frame_opts.frame_length_ms = FRAME_LENGTH_S * 1000
    opts.frame_opts.snip_edges = False
    opts.frame_opts.dither = 0.0
    opts.num_ceps = NUM_CEPS
    # Kaldi's tools read 16-bit samples unscaled; keep that scale so that the energy floor and
    # the dither mean what they mean in Kaldi.
    noise = np.random.default_rng(DITHER_SEED).standard_normal(len(samples)) * DITHER
    waveform = (samples * 32768.0 + noise).astype(np.float32)
    extractor = knf.OnlineMfcc(opts)
    extractor.accept_waveform(sample_rate, waveform)
    extractor.input_finished()
    mfcc = np.stack([extractor.get_frame(i) for i in range(extractor.num_frames_ready)])
    feats = knf.compute_deltas(knf.DeltaOptions(order=DELTA_ORDER, window=2), mfcc)
    return (feats - feats.mean(axis=0)).astype(np.float32)


def frame_levels_db(samples, sample_rate):
    """The RMS level (dBFS) of each 25 ms analysis frame, on the same frames as the features."""
    shift = round(FRAME_SHIFT_S * sample_rate)
    length = round(FRAME_LENGTH_S * sample_rate)
    count = num_frames(len(samples), sample_rate)
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    centres = np.arange(count) * shift + shift // 2
    first = np.clip(centres - length // 2, 0, len(samples))
    last = np.clip(centres + length // 2, 0, len(samples))
    mean_square = (energy[last] - energy[first]) / np.maximum(last - first, 1)
    return 10 * np.log10(np.maximum(mean_square, 1e-12))


@dataclass(frozen=True)
class SpeechSpan:
    """Frames [start, end) between the leading and the trailing silence."""

    start: int
    end: int


def find_speech(levels):
    """The speech span of a recording from its frame levels (dBFS); AlignmentFailure when the
    levels are too flat to hold speech."""
    floor, peak = np.percentile(levels, [5, 99])
    if peak - floor < MIN_DYNAMIC_RANGE_DB:
        raise AlignmentFailure(
            f"silent: frame levels span only {peak - floor:.1f} dB "
            f"(loudest {peak:.0f} dBFS); speech needs {MIN_DYNAMIC_RANGE_DB:.0f} dB"
        )
    loud = np.flatnonzero(levels > floor + SPEECH_THRESHOLD * (peak - floor))
    return SpeechSpan(int(loud[0]), int(loud[-1]) + 1)


# ---------------------------------------------------------------- phones, words, topology


class Lang:
    """Phone and word tables for a lexicon; Kaldi ids start at 1 (0 is epsilon), silence is 1."""

    def __init__(self, lexicon):
        self.lexicon = dict(lexicon)
        used = sorted({p for phones in self.lexicon.values() for p in phones})
        if SILENCE in used:
            raise ValueError(f"the lexicon may not use the silence phone {SILENCE!r}")
        self.phones = [SILENCE, *used]
        self.phone_id = {p: i + 1 for i, p in enumerate(self.phones)}
        self.words = list(self.lexicon)
        self.word_id = {w: i + 1 for i, w in enumerate(self.words)}

    @property
    def silence_id(self):
        return self.phone_id[SILENCE]

    def symbol_table_text(self, symbols):
        return "".join(f"{s} {i}\n" for i, s in enumerate(["<eps>", *symbols]))

    def lexicon_fst(self, silence_probability):
        """The lexicon transducer (phones -> words) with optional silence before, between and
        after words, as Kaldi's make_lexicon_fst.py --sil-prob builds it."""
        if not 0 < silence_probability < 1:
            raise ValueError(f"silence probability must lie in (0, 1), got {silence_probability}")
        sil_cost = -math.log(silence_probability)
        no_sil_cost = -math.log(1 - silence_probability)
        fst = kaldifst.StdVectorFst()
        start, loop, before_sil = fst.add_state(), fst.add_state(), fst.add_state()
        fst.start = start
        fst.set_final(state=loop, weight=0.0)
        fst.add_arc(start, kaldifst.StdArc(0, 0, no_sil_cost, loop))
        fst.add_arc(start, kaldifst.StdArc(0, 0, sil_cost, before_sil))
        fst.add_arc(before_sil, kaldifst.StdArc(self.silence_id, 0, 0.0, loop))
        for word, phones in self.lexicon.items():
            state = loop
            for i, phone in enumerate(phones[:-1]):
                following = fst.add_state()
                word_label = self.word_id[word] if i == 0 else 0
                fst.add_arc(state, kaldifst.StdArc(self.phone_id[phone], word_label, 0.0, following))
                state = following
            word_label = self.word_id[word] if len(phones) == 1 else 0
            last = self.phone_id[phones[-1]]
            fst.add_arc(state, kaldifst.StdArc(last, word_label, no_sil_cost, loop))
            fst.add_arc(state, kaldifst.StdArc(last, word_label, sil_cost, before_sil))
        kaldifst.arcsort(fst, sort_type="olabel")
        return fst


def default_transitions(num_states, is_silence):
    """Kaldi's standard transitions: speech phones left-to-right (0.75 stay, 0.25 go on); the
    silence phone with its middle states fully connected (as utils/gen_topo.pl writes it)."""
    if not is_silence:
        return [[(s, 0.75), (s + 1, 0.25)] for s in range(num_states)]
    share = 1.0 / (num_states - 1)
    states = [[(s, share) for s in range(num_states - 1)]]
    states += [[(s, share) for s in range(1, num_states)] for _ in range(1, num_states - 1)]
    states.append([(num_states - 1, 0.75), (num_states, 0.25)])
    return states


def topology_text(transitions):
    """Kaldi topology text with one entry per phone; `transitions` maps a phone id to, per
    emitting state, its [(destination state, probability), ...]."""
    lines = ["<Topology>"]
    for phone, states in sorted(transitions.items()):
        lines += ["<TopologyEntry>", f"<ForPhones> {phone} </ForPhones>"]
        for s, arcs in enumerate(states):
            arcs_text = " ".join(f"<Transition> {d} {p:.8g}" for d, p in arcs)
            lines.append(f"<State> {s} <PdfClass> {s} {arcs_text} </State>")
        lines += [f"<State> {len(states)} </State>", "</TopologyEntry>"]
    lines.append("</Topology>")
    return "\n".join(lines) + "\n"


def initial_topology(lang, phone_states=PHONE_STATES):
    """Kaldi's standard topology for every phone of `lang` (`phone_states` emitting states per
    speech phone, SILENCE_STATES for silence)."""
    return topology_text(
        {
            pid: default_transitions(SILENCE_STATES if p == SILENCE else phone_states, p == SILENCE)
            for p, pid in lang.phone_id.items()
        }
    )


# ---------------------------------------------------------------- the model


class GmmHmm:
    """A monophone GMM-HMM: topology, transition model and one diagonal GMM per HMM state."""

    def __init__(self, lang, topo_text, am):
        self.lang = lang
        self.topo = khg.HmmTopology()
        self.topo.read(topo_text)
        self.tree = khg.monophone_context_dependency(
            phones=self.topo.phones, phone2num_pdf_classes=self.topo.get_phone_to_num_pdf_classes()
        )
        self.trans_model = khg.TransitionModel(ctx_dep=self.tree, hmm_topo=self.topo)
        if am.num_pdfs != self.trans_model.num_pdfs:
            raise ValueError(f"{am.num_pdfs} GMMs for {self.trans_model.num_pdfs} HMM states")
        self.am = am
        self.pdf_of_transition = np.asarray(self.trans_model.transition_id_to_pdf_array())
        self.phone_of_transition = np.array(
            [0] + [self.trans_model.transition_id_to_phone(t) for t in range(1, len(self.pdf_of_transition))]
        )
        self.final_transition = np.array(
            [False] + [self.trans_model.is_final(t) for t in range(1, len(self.pdf_of_transition))]
        )
        # Transition states are numbered by (phone, HMM state), so each phone's states come in
        # order; the first transition of each gives the state's pdf.
        state2id = self.trans_model.state2id
        self._state_pdfs = {}
        for state in range(1, self.trans_model.num_transition_states + 1):
            first = state2id[state]
            phone = int(self.phone_of_transition[first])
            self._state_pdfs.setdefault(phone, []).append(int(self.pdf_of_transition[first]))

    @classmethod
    def initial(cls, lang, mean, variance, phone_states=PHONE_STATES):
        """Every state a single Gaussian with the global mean and variance (gmm-init-mono)."""
        gmm = khg.DiagGmm(nmix=1, dim=len(mean))
        gmm.set_weights(np.ones(1, dtype=np.float32))
        gmm.set_means(np.asarray(mean, dtype=np.float32)[None, :])
        gmm.set_invvars(1.0 / np.asarray(variance, dtype=np.float32)[None, :])
        gmm.compute_gconsts()
        am = khg.AmDiagGmm()
        # A monophone model has one pdf per emitting state of every phone.
        for _ in range(SILENCE_STATES + phone_states * (len(lang.phones) - 1)):
            am.add_pdf(gmm)
        return cls(lang, initial_topology(lang, phone_states), am)

    def state_pdfs(self, phone):
        """The pdf id of each emitting state of `phone`, in state order."""
        return self._state_pdfs[self.lang.phone_id[phone]]

    # -- graphs and alignment
    def graph(self, words, silence_probability):
        """The alignment graph of a transcript: HMM states of the words' phones with optional
        silence, transition probabilities added once (Kaldi's compile-train-graphs sets both
        scales to 0 and gmm-align-compiled adds them; adding them in both counts them twice)."""
        pronounce(words, self.lang.lexicon)
        opts = khg.TrainingGraphCompilerOptions()
        opts.transition_scale = 0.0
        opts.self_loop_scale = 0.0
        # Without reordering, the transition-id of a frame is the transition leaving the state
        # that emitted it, so a phone ends exactly on the frame whose transition is final.
        opts.reorder = False
        compiler = khg.TrainingGraphCompiler(
            trans_model=self.trans_model,
            ctx_dep=self.tree,
            lex_fst=self.lang.lexicon_fst(silence_probability),
            disambig_syms=[],
            opts=opts,
        )
        graph = compiler.compile_graph_from_text([self.lang.word_id[w] for w in words])
        khg.add_transition_probs(
            trans_model=self.trans_model,
            transition_scale=TRANSITION_SCALE,
            self_loop_scale=SELF_LOOP_SCALE,
            fst=graph,
        )
        return graph

    def viterbi(self, graph, feats):
        """The transition-id of every frame on the best path, or None when no path fits."""
        decodable = khg.DecodableAmDiagGmmScaled(
            am=self.am, tm=self.trans_model, feats=feats, scale=ACOUSTIC_SCALE
        )
        config = khg.AlignConfig()
        config.beam = BEAM
        config.retry_beam = RETRY_BEAM
        done, _, _, _, _, alignment, _ = khg.align_utterance_wrapper(
            config=config, utt="", acoustic_scale=ACOUSTIC_SCALE, fst=graph, decodable=decodable,
            num_done=0, num_error=0, num_retried=0, tot_like=0.0, frame_count=0,
        )
        if done != 1 or len(alignment) != len(feats):
            return None
        return np.asarray(alignment)

    def min_frames(self, words):
        """The fewest frames that can hold the words' phones (each state at least one frame)."""
        phones = [p for _, pron in pronounce(words, self.lang.lexicon) for p in pron]
        return sum(self.topo.min_length(self.lang.phone_id[p]) for p in phones)

    def phone_segments(self, alignment):
        """[(phone, first frame, end frame)] of an alignment (transition-ids per frame).

        A phone ends on the frame whose transition enters the final state of its HMM, so two
        identical phones in a row stay two segments."""
        ends = np.flatnonzero(self.final_transition[alignment]) + 1
        if len(ends) == 0 or ends[-1] != len(alignment):
            raise ValueError("the alignment does not end on the last state of a phone")
        starts = np.concatenate([[0], ends[:-1]])
        return [
            (self.lang.phones[self.phone_of_transition[alignment[start]] - 1], int(start), int(end))
            for start, end in zip(starts, ends)
        ]

    # -- re-estimation
    def accumulate(self, feats_list, pdf_lists):
        """GMM statistics of frames assigned to pdfs (one list of pdf ids per recording);
        returns the accumulator and the average log-likelihood per frame."""
        accs = khg.AccumAmDiagGmm()
        accs.init(model=self.am, flags=GMM_FLAGS)
        total, frames = 0.0, 0
        for feats, pdfs in zip(feats_list, pdf_lists):
            for frame, pdf in zip(feats, pdfs.tolist()):
                total += accs.accumulate_for_gmm(self.am, frame, pdf, 1.0)
            frames += len(pdfs)
        return accs, total / frames

    def update(self, accs, transition_counts=None):
        """ML re-estimation of the GMMs and, given counts per transition-id, the transitions."""
        khg.mle_am_diag_gmm_update(
            config=khg.MleDiagGmmOptions(), amdiag_gmm_acc=accs, flags=GMM_FLAGS, am_gmm=self.am
        )
        if transition_counts is not None:
            self.trans_model.mle_update(transition_counts, khg.MleTransitionUpdateConfig())

    def em_iteration(self, feats_list, graph):
        """One Viterbi-EM pass over recordings (their features) that all read `graph`'s
        transcript: realign, then re-estimate GMMs and transitions. Returns the number of
        recordings aligned, the log-likelihood per frame and the frame count of every pdf."""
        alignments = [self.viterbi(graph, feats) for feats in feats_list]
        aligned = [(f, a) for f, a in zip(feats_list, alignments) if a is not None]
        if not aligned:
            raise ValueError("no recording could be aligned")
        accs, loglike = self.accumulate([f for f, _ in aligned], [self.pdf_of_transition[a] for _, a in aligned])
        counts = np.bincount(np.concatenate([a for _, a in aligned]), minlength=len(self.pdf_of_transition))
        self.update(accs, counts.astype(np.float64))
        occupancy = [accs.get_acc(pdf).occupancy.sum() for pdf in range(self.am.num_pdfs)]
        return len(aligned), loglike, occupancy

    def split(self, occupancy_per_pdf, max_gaussians, rng):
        """Split every mixture in two, up to `max_gaussians` and while each Gaussian keeps
        MIN_FRAMES_PER_GAUSSIAN frames; returns the total number of Gaussians.

        As Kaldi's DiagGmm::Split: the heaviest component is halved into two whose means move
        SPLIT_PERTURB_FACTOR standard deviations apart along a random direction; the direction
        is drawn from `rng` (Kaldi's own draws are not seeded, which makes training differ
        from run to run)."""
        mixtures = []
        for pdf, occupancy in enumerate(occupancy_per_pdf):
            weights, means, variances = gmm_arrays(self.am.get_pdf(pdf))
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
        self.am = am_from_arrays(mixtures)
        return self.am.num_gauss

    def trained_topology(self):
        """The topology text carrying the current transition probabilities."""
        probs = np.exp(np.asarray(self.trans_model.log_probs))
        state2id = self.trans_model.state2id
        transitions = {}
        state = 1
        for phone in self.topo.phones:
            emitting = self.topo.topology_for_phone(phone)[:-1]
            transitions[phone] = []
            for hmm_state in emitting:
                first = state2id[state]
                arcs = [(dest, float(probs[first + j])) for j, (dest, _) in enumerate(hmm_state.transitions)]
                transitions[phone].append(arcs)
                state += 1
        return topology_text(transitions)

    # -- storage
    def save(self, folder, settings):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "phones.txt").write_text(self.lang.symbol_table_text(self.lang.phones), encoding="utf-8")
        (folder / "words.txt").write_text(self.lang.symbol_table_text(self.lang.words), encoding="utf-8")
        (folder / "lexicon.txt").write_text(
            "".join(f"{w}\t{' '.join(p)}\n" for w, p in self.lang.lexicon.items()), encoding="utf-8"
        )
        (folder / "topo").write_text(self.trained_topology(), encoding="utf-8")
        mixtures = [gmm_arrays(self.am.get_pdf(i)) for i in range(self.am.num_pdfs)]
        np.savez(
            folder / "gmm.npz",
            num_gauss=np.array([len(w) for w, _, _ in mixtures], dtype=np.int64),
            weights=np.concatenate([w for w, _, _ in mixtures]),
            means=np.concatenate([m for _, m, _ in mixtures]),
            variances=np.concatenate([v for _, _, v in mixtures]),
        )
        (folder / "model.json").write_text(
            json.dumps({"format": MODEL_FORMAT, **settings}, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )

    @classmethod
    def load(cls, folder):
        """A model saved by `save`; returns (model, settings from model.json)."""
        folder = Path(folder)
        settings = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        if settings.get("format") != MODEL_FORMAT:
            raise ValueError(f"{folder}: model format {settings.get('format')}, expected {MODEL_FORMAT}")
        lang = Lang(read_lexicon(folder / "lexicon.txt"))
        with np.load(folder / "gmm.npz", allow_pickle=False) as arrays:
            num_gauss, weights, means, variances = (arrays[k] for k in ("num_gauss", "weights", "means", "variances"))
        offsets = np.concatenate([[0], np.cumsum(num_gauss)])
        mixtures = [
            (weights[first:last], means[first:last], variances[first:last])
            for first, last in zip(offsets[:-1], offsets[1:])
        ]
        return cls(lang, (folder / "topo").read_text(encoding="utf-8"), am_from_arrays(mixtures)), settings


def gmm_arrays(gmm):
    """(weights, means, variances) of a DiagGmm as float64 arrays."""
    return tuple(np.array(x, dtype=np.float64) for x in (gmm.weights, gmm.means, gmm.vars))


def am_from_arrays(mixtures):
    """An AmDiagGmm with one pdf per (weights, means, variances) in `mixtures`."""
    am = khg.AmDiagGmm()
    for weights, means, variances in mixtures:
        gmm = khg.DiagGmm(nmix=len(weights), dim=means.shape[1])
        gmm.set_weights(np.asarray(weights, dtype=np.float32))
        gmm.set_means(np.asarray(means, dtype=np.float32))
        gmm.set_invvars(np.asarray(1.0 / variances, dtype=np.float32))
        gmm.compute_gconsts()
        am.add_pdf(gmm)
    return am


# ---------------------------------------------------------------- recordings


@dataclass
class Recording:
    """A recording ready to align: features, frame levels (dBFS), speech span, duration (s)."""

    key: str
    feats: np.ndarray
    levels: np.ndarray
    span: SpeechSpan
    duration: float


def prepare_recording(key, samples, sample_rate, min_frames):
    """Features and speech span of a recording; AlignmentFailure when it is shorter than
    `min_frames` frames or silent."""
    duration = len(samples) / sample_rate
    frames = num_frames(len(samples), sample_rate)
    if frames < min_frames:
        raise AlignmentFailure(
            f"too short: {duration:.2f} s; the phrase needs at least "
            f"{min_frames * FRAME_SHIFT_S:.2f} s ({min_frames} frames of 10 ms)"
        )
    levels = frame_levels_db(samples, sample_rate)
    span = find_speech(levels)
    return Recording(str(key), mfcc_features(samples, sample_rate), levels, span, duration)


def check_sample_rate(path, rate, expected):
    """A recording at another rate than the model's is a pipeline error, not a bad recording."""
    if rate != expected:
        raise ValueError(f"{path}: sample rate {rate} Hz, the aligner expects {expected} Hz")


# ---------------------------------------------------------------- alignment


def segments_to_alignment(model, segments, words, duration):
    """Word and phone Segments (seconds, silences left out) from frame segments."""
    phones = [
        Segment(frame_to_time(first), min(frame_to_time(end), duration), phone)
        for phone, first, end in segments
        if phone != SILENCE
    ]
    word_segments, position = [], 0
    for word, pron in pronounce(words, model.lang.lexicon):
        found = [p.label for p in phones[position:position + len(pron)]]
        if found != list(pron):
            raise ValueError(f"the alignment's phones {found} do not spell {word!r} {list(pron)}")
        word_segments.append(Segment(phones[position].start, phones[position + len(pron) - 1].end, word))
        position += len(pron)
    if position != len(phones):
        raise ValueError(f"the alignment has {len(phones) - position} phone(s) beyond the transcript")
    return word_segments, phones


def align(model, graph, words, recording):
    """(words, phones) Segments of one recording; AlignmentFailure when no path fits."""
    alignment = model.viterbi(graph, recording.feats)
    if alignment is None:
        raise AlignmentFailure(
            f"no path through the alignment graph (beam {BEAM:g}, retry beam {RETRY_BEAM:g})"
        )
    return segments_to_alignment(model, model.phone_segments(alignment), words, recording.duration)


def align_recording(wav_path, model_dir, phrase_path, textgrid_path, status_path, session_id):
    """Align one recording with a trained model: writes its TextGrid and its status JSON.

    A recording that cannot be aligned (too short, silent, no path through the graph) gets a
    TextGrid with empty tiers spanning it and a status with aligned=false and the reason; it
    does not raise. Returns whether it was aligned."""
    model, settings = GmmHmm.load(model_dir)
    words = read_transcript(phrase_path)
    samples, rate = read_audio(wav_path)
    check_sample_rate(wav_path, rate, settings["sample_rate"])
    try:
        recording = prepare_recording(session_id, samples, rate, model.min_frames(words))
        graph = model.graph(words, settings["silence_probability"])
        word_segments, phone_segments = align(model, graph, words, recording)
    except AlignmentFailure as failure:
        log.warning("session %s not aligned: %s", session_id, failure)
        write_alignment(textgrid_path, [], [], len(samples) / rate)
        write_status(status_path, session_id, False, str(failure))
        return False
    write_alignment(textgrid_path, word_segments, phone_segments, recording.duration)
    write_status(status_path, session_id, True, "")
    log.info("session %s: %d words, %d phones aligned", session_id, len(word_segments), len(phone_segments))
    return True
