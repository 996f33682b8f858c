"""The Kaldi GMM-HMM of the aligner, built on the `kaldi-hmm-gmm` and `kaldifst` wheels: phone
and word tables, HMM topology, the model itself with its alignment graph and Viterbi search,
and its storage. What trains it is in `estimation.py` and `training.py`.

Model: monophone HMMs (3 states per phone, 5 for silence, Kaldi's standard topologies) with one
diagonal GMM per state. Phones may be tied into groups that share their GMMs (Kaldi's shared
roots: `monophone_context_dependency_shared`); each phone keeps its own transitions, so tied
phones still have their own durations. Graph: the transcript's words with optional silence
before, between and after them.

A saved model is a folder of plain files (no pickle; `aligner.py` puts two of them, with its
settings, into the aligner's folder):
  phones.txt, words.txt  Kaldi symbol tables (`<eps> 0`, then one symbol per line)
  lexicon.txt            word<TAB>phones the model was trained with
  tying.txt              the groups of phones that share their GMMs, one group per line
                         (phones not listed have their own)
  topo                   Kaldi HMM topology text, one entry per phone, holding the trained
                         transition probabilities (the wheels cannot set them directly, but a
                         TransitionModel built from this topology carries exactly these values)
  gmm.npz                the diagonal GMMs: `num_gauss` (per pdf), then `weights`, `means`,
                         `variances` of all Gaussians stacked in pdf order (numpy arrays only,
                         loaded with allow_pickle=False)
"""
import math
from pathlib import Path

import kaldi_hmm_gmm as khg
import kaldifst
import numpy as np

from svd_explain.align.features import frame_to_time
from svd_explain.align.lexicon import pronounce, read_lexicon
from svd_explain.textgrids import Segment

SILENCE = "sil"
PHONE_STATES = 3
SILENCE_STATES = 5
# Kaldi's alignment settings (steps/align_si.sh): acoustic scale 0.1, transition probabilities
# added once at alignment time with self-loops scaled by 0.1.
ACOUSTIC_SCALE = 0.1
TRANSITION_SCALE = 1.0
SELF_LOOP_SCALE = 0.1
BEAM = 10.0
RETRY_BEAM = 40.0


class Lang:
    """Phone and word tables for a lexicon; Kaldi ids start at 1 (0 is epsilon), silence is 1."""

    def __init__(self, lexicon: dict):
        self.lexicon = dict(lexicon)
        used = sorted({p for phones in self.lexicon.values() for p in phones})
        if SILENCE in used:
            raise ValueError(f"the lexicon may not use the silence phone {SILENCE!r}")
        self.phones = [SILENCE, *used]
        self.phone_id = {p: i + 1 for i, p in enumerate(self.phones)}
        self.words = list(self.lexicon)
        self.word_id = {w: i + 1 for i, w in enumerate(self.words)}

    @property
    def silence_id(self) -> int:
        return self.phone_id[SILENCE]

    def symbol_table_text(self, symbols) -> str:
        return "".join(f"{s} {i}\n" for i, s in enumerate(["<eps>", *symbols]))

    def lexicon_fst(self, silence_probability: float):
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


def default_transitions(num_states: int, is_silence: bool) -> list:
    """Kaldi's standard transitions: speech phones left-to-right (0.75 stay, 0.25 go on); the
    silence phone with its middle states fully connected (as utils/gen_topo.pl writes it)."""
    if not is_silence:
        return [[(s, 0.75), (s + 1, 0.25)] for s in range(num_states)]
    share = 1.0 / (num_states - 1)
    states = [[(s, share) for s in range(num_states - 1)]]
    states += [[(s, share) for s in range(1, num_states)] for _ in range(1, num_states - 1)]
    states.append([(num_states - 1, 0.75), (num_states, 0.25)])
    return states


def topology_text(transitions: dict) -> str:
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


def initial_topology(lang: Lang) -> str:
    """Kaldi's standard topology for every phone of `lang` (PHONE_STATES emitting states per
    speech phone, SILENCE_STATES for silence)."""
    return topology_text(
        {
            pid: default_transitions(SILENCE_STATES if p == SILENCE else PHONE_STATES, p == SILENCE)
            for p, pid in lang.phone_id.items()
        }
    )


def single_gaussian_gmm(mean, variance):
    gmm = khg.DiagGmm(nmix=1, dim=len(mean))
    gmm.set_weights(np.ones(1, dtype=np.float32))
    gmm.set_means(np.asarray(mean, dtype=np.float32)[None, :])
    gmm.set_invvars(1.0 / np.asarray(variance, dtype=np.float32)[None, :])
    gmm.compute_gconsts()
    return gmm


class GmmHmm:
    """A monophone GMM-HMM: topology, transition model and one diagonal GMM per HMM state, the
    states of the phones in each group of `tying` sharing their GMMs."""

    def __init__(self, lang: Lang, topo_text: str, am, tying=()):
        self.lang = lang
        self.tying = [sorted(group) for group in tying]
        self.topo = khg.HmmTopology()
        self.topo.read(topo_text)
        self.tree = _context_dependency(lang, self.topo, self.tying)
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
    def initial(cls, lang: Lang, mean, variance, tying=()):
        """Every state a single Gaussian with the global mean and variance (gmm-init-mono)."""
        topo = initial_topology(lang)
        shape = khg.HmmTopology()
        shape.read(topo)
        count = khg.TransitionModel(ctx_dep=_context_dependency(lang, shape, tying), hmm_topo=shape).num_pdfs
        am = khg.AmDiagGmm()
        gmm = single_gaussian_gmm(mean, variance)
        for _ in range(count):
            am.add_pdf(gmm)
        return cls(lang, topo, am, tying)

    def state_pdfs(self, phone: str) -> list:
        """The pdf id of each emitting state of `phone`, in state order."""
        return self._state_pdfs[self.lang.phone_id[phone]]

    # -- graphs and alignment
    def graph(self, words, silence_probability: float):
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
        """The transition-id of every frame on the best path and the path's acoustic
        log-likelihood per frame (unscaled), or None when no path fits."""
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

    def pdf_loglikes(self, feats, pdfs) -> np.ndarray:
        """The log-likelihood of every frame (rows) under each of the GMMs `pdfs` (columns)."""
        feats = np.asarray(feats, dtype=np.float32)
        return np.stack([_mixture_loglikes(self.am.get_pdf(int(pdf)), feats) for pdf in pdfs], axis=1)

    def frame_loglikes(self, feats, alignment) -> np.ndarray:
        """The log-likelihood of every frame under the GMM its alignment assigns it."""
        pdfs = self.pdf_of_transition[alignment]
        feats = np.asarray(feats, dtype=np.float32)
        out = np.empty(len(pdfs))
        for pdf in np.unique(pdfs):
            frames = pdfs == pdf
            out[frames] = _mixture_loglikes(self.am.get_pdf(int(pdf)), feats[frames])
        return out

    def min_frames(self, words) -> int:
        """The fewest frames that can hold the words' phones (each state at least one frame)."""
        phones = [p for _, pron in pronounce(words, self.lang.lexicon) for p in pron]
        return sum(self.topo.min_length(self.lang.phone_id[p]) for p in phones)

    def phone_segments(self, alignment) -> list:
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

    def trained_topology(self) -> str:
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
    def save(self, folder) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "phones.txt").write_text(self.lang.symbol_table_text(self.lang.phones), encoding="utf-8")
        (folder / "words.txt").write_text(self.lang.symbol_table_text(self.lang.words), encoding="utf-8")
        (folder / "lexicon.txt").write_text(
            "".join(f"{w}\t{' '.join(p)}\n" for w, p in self.lang.lexicon.items()), encoding="utf-8"
        )
        (folder / "tying.txt").write_text("".join(" ".join(g) + "\n" for g in self.tying), encoding="utf-8")
        (folder / "topo").write_text(self.trained_topology(), encoding="utf-8")
        mixtures = [gmm_arrays(self.am.get_pdf(i)) for i in range(self.am.num_pdfs)]
        np.savez(
            folder / "gmm.npz",
            num_gauss=np.array([len(w) for w, _, _ in mixtures], dtype=np.int64),
            weights=np.concatenate([w for w, _, _ in mixtures]),
            means=np.concatenate([m for _, m, _ in mixtures]),
            variances=np.concatenate([v for _, _, v in mixtures]),
        )

    @classmethod
    def load(cls, folder) -> "GmmHmm":
        """A model saved by `save`."""
        folder = Path(folder)
        lang = Lang(read_lexicon(folder / "lexicon.txt"))
        tying = [line.split() for line in (folder / "tying.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
        with np.load(folder / "gmm.npz", allow_pickle=False) as arrays:
            num_gauss, weights, means, variances = (arrays[k] for k in ("num_gauss", "weights", "means", "variances"))
        offsets = np.concatenate([[0], np.cumsum(num_gauss)])
        mixtures = [
            (weights[first:last], means[first:last], variances[first:last])
            for first, last in zip(offsets[:-1], offsets[1:])
        ]
        return cls(lang, (folder / "topo").read_text(encoding="utf-8"), am_from_arrays(mixtures), tying)


def _mixture_loglikes(gmm, feats) -> np.ndarray:
    """The log-likelihood of every frame under a DiagGmm (log-sum-exp of its components)."""
    components = np.asarray(gmm.log_likelihoods_matrix(feats), dtype=np.float64)
    top = components.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(components - top).sum(axis=1, keepdims=True)))[:, 0]


def _context_dependency(lang: Lang, topo, tying):
    """The monophone tree of `lang` in which the phones of each group of `tying` share their
    pdfs (Kaldi's shared roots); every other phone has its own."""
    tied = {p for group in tying for p in group}
    wrong = (tied - set(lang.phones)) | (tied & {SILENCE})
    if wrong:
        raise ValueError(f"the tying names phones the model does not have, or silence: {sorted(wrong)}")
    roots = [[lang.phone_id[p] for p in group] for group in tying]
    roots += [[lang.phone_id[p]] for p in lang.phones if p not in tied]
    return khg.monophone_context_dependency_shared(
        phone_classes=roots, phone2num_pdf_classes=topo.get_phone_to_num_pdf_classes()
    )


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


def segments_to_alignment(lang: Lang, segments, words, duration: float):
    """Word and phone Segments (seconds, silences left out) from frame segments."""
    phones = [
        Segment(frame_to_time(first), min(frame_to_time(end), duration), phone)
        for phone, first, end in segments
        if phone != SILENCE
    ]
    word_segments, position = [], 0
    for word, pron in pronounce(words, lang.lexicon):
        found = [p.label for p in phones[position:position + len(pron)]]
        if found != list(pron):
            raise ValueError(f"the alignment's phones {found} do not spell {word!r} {list(pron)}")
        word_segments.append(Segment(phones[position].start, phones[position + len(pron) - 1].end, word))
        position += len(pron)
    if position != len(phones):
        raise ValueError(f"the alignment has {len(phones) - position} phone(s) beyond the transcript")
    return word_segments, phones
