"""One synthetic phrase recording: timing, control tracks, source-filter synthesis, frication
and bursts, then the recording channel (level, noise floor, leading and trailing silence).

The audio depends only on the seed and the session's own metadata (its id, speaker, sex, age,
category and labels), so a recording is the same in every corpus that contains it."""
from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfilt

from svd_explain.synth.cues import ALL_PHONES, cue_for
from svd_explain.synth.phonetics import ACCENTS, PHONES, VOICED_PLOSIVES, phrase_words
from svd_explain.synth.source import glottal_source
from svd_explain.synth.tract import formant_sections, vocal_tract
from svd_explain.synth.voice import speaker_traits, voice_source
from svd_explain.textgrids import Segment

SAMPLE_RATE = 50_000
HOP = 100  # samples per control frame (2 ms)
# The vocal tract's coefficients change every 2 control frames (4 ms; Klatt used 5 ms): each
# change costs a filter call, the dominant cost of a recording.
FILTER_FRAMES = 2
RECORDING_STREAM = 3
CHANNEL_STREAM = 4
EDGE_SILENCE_S = (0.2, 0.8)
DURATION_S = (2.0, 4.0)
MAX_SPEECH_S = 3.2
# Formants above F3 and the bandwidths of an adult male (scaled per speaker).
HIGHER_FORMANTS_HZ = (3500.0, 4500.0)
BANDWIDTHS_HZ = np.array([70.0, 100.0, 140.0, 200.0, 260.0])
NASAL_POLE_HZ = 270.0


@lru_cache(maxsize=1)
def _default_phrase():
    return tuple(phrase_words())


def _smooth(track, width_frames):
    """Moving Hann-window average along the first axis (edges held), for coarticulation."""
    window = np.hanning(width_frames + 2)[1:-1]
    window /= window.sum()
    pad = len(window) // 2
    padded = np.pad(track, [(pad, pad)] + [(0, 0)] * (track.ndim - 1), mode="edge")
    if track.ndim == 1:
        return np.convolve(padded, window, mode="valid")[: len(track)]
    return np.stack([np.convolve(padded[:, k], window, mode="valid")[: len(track)] for k in range(track.shape[1])], axis=1)


def phone_timing(words, speaker, rng):
    """Phone and word segments (s, from the start of speech) and the speech duration.

    Durations follow the phone's typical duration, the speaker's rate and random variation,
    with phrase-final lengthening; a speaker may pause at punctuation (rarely elsewhere)."""
    phones, word_segments, t = [], [], 0.0
    for index, word in enumerate(words):
        last_word = index == len(words) - 1
        start = t
        for position, label in enumerate(word.phones):
            duration = PHONES[label].duration_ms / 1000 * speaker.rate * np.exp(rng.normal(0.0, 0.1))
            if last_word:
                duration *= 1.15 + 0.35 * (position == len(word.phones) - 1)
            if t == 0.0 and PHONES[label].manner == "plosive":
                duration *= 0.6  # an utterance-initial closure is short
            phones.append(Segment(t, t + duration, label))
            t += duration
        word_segments.append(Segment(start, t, word.text))
        pause_probability = speaker.pause_tendency * (1.0 if word.pause_mark else 0.1)
        if not last_word and rng.uniform() < pause_probability:
            t += rng.uniform(0.08, 0.3)
    if t > MAX_SPEECH_S:  # very slow speakers: keep the recording within the SVD's range
        scale = MAX_SPEECH_S / t
        phones = [Segment(s.start * scale, s.end * scale, s.label) for s in phones]
        word_segments = [Segment(s.start * scale, s.end * scale, s.label) for s in word_segments]
        t = MAX_SPEECH_S
    return word_segments, phones, t


class _Tracks:
    """Control parameters per 2 ms frame over the speech, and the noise events."""

    def __init__(self, n_frames):
        self.formants = np.zeros((n_frames, 3))
        self.voicing = np.zeros(n_frames)
        self.aspiration = np.zeros(n_frames)
        self.voice_bar = np.zeros(n_frames)
        self.nasal_zero = np.full(n_frames, NASAL_POLE_HZ)
        self.noise_events = []  # (start s, end s, low Hz, high Hz, amplitude, is_burst)


def _frame(seconds):
    return int(round(seconds * SAMPLE_RATE / HOP))


def control_tracks(phones, speech_s, speaker):
    """Targets per frame (steps at the phone boundaries, smoothed afterwards)."""
    tracks = _Tracks(_frame(speech_s) + 2)
    scale = speaker.vocal_tract_scale
    vowel_formants = [PHONES[p.label].formants if PHONES[p.label].manner == "vowel" else None for p in phones]
    for index, segment in enumerate(phones):
        phone = PHONES[segment.label]
        formants = phone.formants
        if formants is None:  # take the next vowel's (or, at the end, the previous one's)
            following = [f for f in vowel_formants[index + 1:] if f] or [f for f in vowel_formants[:index] if f][::-1]
            formants = following[0]
            if segment.label in VOICED_PLOSIVES:  # velar pinch: F2 and F3 come together
                formants = (250.0, formants[1] * 1.1, max(formants[2] * 0.92, formants[1] * 1.1 + 250))
        first, last = _frame(segment.start), _frame(segment.end)
        tracks.formants[first:last] = np.array(formants) * scale * np.array(speaker.formant_jitter)
        tracks.voicing[first:last] = phone.voicing
        if phone.nasal_zero_hz:
            tracks.nasal_zero[first:last] = phone.nasal_zero_hz * scale
        if phone.frication and phone.manner != "plosive":
            low, high, amplitude = phone.frication
            tracks.noise_events.append((segment.start, segment.end, low * scale, high * scale, amplitude, False))
        if phone.manner == "plosive":
            duration = segment.end - segment.start
            release = segment.start + phone.closure * duration
            burst_end = release + phone.burst * duration
            after_silence = index == 0 or phones[index - 1].end < segment.start - 1e-9
            if segment.label in VOICED_PLOSIVES:
                if not after_silence:
                    tracks.voice_bar[first:_frame(release)] = 1.0
                tracks.voicing[_frame(burst_end):last] = 0.7
            else:
                tracks.aspiration[_frame(burst_end):last] = 0.5
            low, high, amplitude = phone.frication
            tracks.noise_events.append((release, burst_end, low * scale, high * scale, amplitude, True))
    # Formants are undefined in silence: hold the neighbouring targets instead of 0 Hz.
    silent = ~tracks.formants.any(axis=1)
    if silent.any():
        spoken = np.flatnonzero(~silent)
        nearest = spoken[np.clip(np.searchsorted(spoken, np.flatnonzero(silent)), 0, len(spoken) - 1)]
        tracks.formants[silent] = tracks.formants[nearest]
    tracks.formants = _smooth(tracks.formants, 15)
    tracks.voicing = _smooth(tracks.voicing, 5)
    tracks.aspiration = _smooth(tracks.aspiration, 3)
    tracks.voice_bar = _smooth(tracks.voice_bar, 3)
    tracks.nasal_zero = _smooth(tracks.nasal_zero, 8)
    return tracks


def f0_contour(words, phones, n_frames, speaker, f0_factor, rng):
    """f0 (Hz) per frame: declination, pitch accents on the accented words' first vowel, a
    final fall, and slow random drift, times the voice's `f0_factor` (a number, or one per
    frame)."""
    t = np.arange(n_frames) * HOP / SAMPLE_RATE
    end = t[-1] if n_frames > 1 else 1.0
    semitones = 1.0 - 3.0 * t / end
    for word in words:
        accent = ACCENTS.get(word.label, 0.0) * speaker.accent_range
        vowels = [p for p in phones if word.start <= p.start < word.end and PHONES[p.label].manner == "vowel"]
        if accent and vowels:
            centre = 0.5 * (vowels[0].start + vowels[0].end)
            semitones += accent * np.exp(-0.5 * ((t - centre) / 0.07) ** 2)
    semitones -= 3.0 * np.clip((t - (end - 0.3)) / 0.3, 0.0, 1.0)
    semitones += _smooth(rng.normal(0.0, 1.5, n_frames), 50)
    return speaker.f0_hz * f0_factor * 2.0 ** (semitones / 12.0)


def _band_noise(n, low, high, rng):
    high = min(high, 0.45 * SAMPLE_RATE)
    noise = sosfilt(butter(2, [low, high], btype="band", fs=SAMPLE_RATE, output="sos"), rng.standard_normal(n + 500))[500:]
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def _envelope(n, attack, release):
    """Raised-cosine ramps of `attack` and `release` samples on a flat top."""
    envelope = np.ones(n)
    for length, side in ((min(attack, n // 2), 1), (min(release, n // 2), -1)):
        if length:
            ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, length))
            if side == 1:
                envelope[:length] *= ramp
            else:
                envelope[-length:] *= ramp[::-1]
    return envelope


def _voice_breaks(voicing, voice, cue, speech_s, rng):
    """Aphonic voice breaks (voicing × 0.05 for 40-120 ms) at the voice's rate: anywhere, or
    with a `cue` only within its support (a break ends with the support)."""
    if cue is None:
        for _ in range(rng.poisson(voice.breaks_per_s * speech_s)):
            start = rng.uniform(0.0, speech_s)
            voicing[_frame(start):_frame(start + rng.uniform(0.04, 0.12))] *= 0.05
        return
    support = [(max(a, 0.0), min(b, speech_s)) for a, b in cue.support()]
    lengths = np.array([b - a for a, b in support])
    for _ in range(rng.poisson(voice.perturbed.breaks_per_s * lengths.sum())):
        # A uniform position over the support: draw along the stretches laid end to end.
        at = rng.uniform(0.0, lengths.sum())
        k = min(int(np.searchsorted(np.cumsum(lengths), at, side="right")), len(support) - 1)
        start = support[k][0] + at - (np.cumsum(lengths)[k] - lengths[k])
        end = min(start + rng.uniform(0.04, 0.12), support[k][1])
        voicing[_frame(start):_frame(end)] *= 0.05


def synthesize_speech(words, phones, speech_s, speaker, voice, rng, cue=None):
    """The speech alone (vowels at about unit RMS), `speech_s` long, at SAMPLE_RATE.

    `voice`: a VoiceSource acting everywhere, or with `cue` (a cues.Cue) a SessionVoice whose
    perturbed source acts only where the cue weighs (its healthy source elsewhere)."""
    tracks = control_tracks(phones, speech_s, speaker)
    n_frames = len(tracks.voicing)
    n = int(round(speech_s * SAMPLE_RATE))
    frame_times = np.arange(n_frames) * HOP / SAMPLE_RATE

    def settings(name, times):
        """A source setting: the voice's number, or with a cue its blend at `times`."""
        if cue is None:
            return getattr(voice, name)
        weight = cue.weight(times)
        return weight * getattr(voice.perturbed, name) + (1.0 - weight) * getattr(voice.healthy, name)

    f0 = f0_contour(words, phones, n_frames, speaker, settings("f0_factor", frame_times), rng)
    source, open_phase = glottal_source(
        lambda t: np.interp(t, frame_times, f0), n, SAMPLE_RATE, voice, rng,
        cue_weight=None if cue is None else cue.weight,
    )

    voicing = tracks.voicing.copy()
    _voice_breaks(voicing, voice, cue, speech_s, rng)
    at_sample = np.arange(n) / HOP
    frames = np.arange(n_frames)
    voicing = np.interp(at_sample, frames, _smooth(voicing, 3))
    aspiration = np.interp(at_sample, frames, tracks.aspiration)
    # Breath noise: turbulence at the glottis, strongest while it is open.
    breath = settings("breath_noise", np.arange(n) / SAMPLE_RATE) * rng.standard_normal(n) * (0.4 + 0.9 * open_phase)
    excitation = voicing * (source + breath) + aspiration * rng.standard_normal(n)

    scale = speaker.vocal_tract_scale
    formants = np.column_stack([tracks.formants, np.tile(np.array(HIGHER_FORMANTS_HZ) * scale, (n_frames, 1))])
    bandwidths = np.tile(BANDWIDTHS_HZ * speaker.bandwidth_scale, (n_frames, 1))
    # An open glottis damps the first formant.
    bandwidths[:, 0] *= 1.0 + 3.0 * np.maximum(settings("open_quotient", frame_times) - 0.6, 0.0)
    # Each filter block takes the parameters of its middle.
    block = slice(FILTER_FRAMES // 2, None, FILTER_FRAMES)
    sections = formant_sections(
        formants[block], bandwidths[block],
        nasal_pole=(np.full(n_frames, NASAL_POLE_HZ * scale)[block], np.full(n_frames, 100.0)[block]),
        nasal_zero=(tracks.nasal_zero[block], np.full(n_frames, 100.0)[block]),
        sample_rate=SAMPLE_RATE,
    )
    speech = vocal_tract(excitation, sections, HOP * FILTER_FRAMES)
    vowel_samples = np.repeat(tracks.voicing >= 0.99, HOP)[:n]
    speech /= np.sqrt(np.mean(speech[vowel_samples] ** 2)) + 1e-12

    # The closed tract still radiates the lowest harmonics through its walls.
    voice_bar = sosfilt(butter(2, 350, fs=SAMPLE_RATE, output="sos"), source)
    speech += 0.4 * np.interp(at_sample, frames, tracks.voice_bar) * voice_bar
    for start_s, end_s, low, high, amplitude, is_burst in tracks.noise_events:
        start, end = int(start_s * SAMPLE_RATE), min(int(end_s * SAMPLE_RATE), n)
        if end - start < 8:
            continue
        if is_burst:  # an abrupt release that decays
            envelope = np.exp(-np.arange(end - start) / (0.35 * (end - start)))
            envelope *= _envelope(end - start, 10, 0)
        else:
            envelope = _envelope(end - start, int(0.02 * SAMPLE_RATE), int(0.015 * SAMPLE_RATE))
        speech[start:end] += amplitude * envelope * _band_noise(end - start, low, high, rng)
    return speech


def recording_channel(speech, rng, edge_silence_s=EDGE_SILENCE_S, min_duration_s=DURATION_S[0]):
    """The recording around the speech: leading and trailing silence (each drawn from
    `edge_silence_s`, 0.2-0.8 s, and longer where the recording would be shorter than
    `min_duration_s`, 2 s), a peak level, a coloured noise floor 45-65 dB below the peak.
    Returns the samples and the speech's start (s)."""
    speech_s = len(speech) / SAMPLE_RATE
    lead, trail = rng.uniform(*edge_silence_s, size=2)
    shortfall = min_duration_s - (speech_s + lead + trail)
    if shortfall > 0:  # fill up to the minimum duration within the allowed silences
        headroom = edge_silence_s[1] - np.array([lead, trail])
        lead, trail = np.array([lead, trail]) + shortfall * headroom / headroom.sum()
    n_lead = int(round(lead * SAMPLE_RATE))
    n = n_lead + len(speech) + int(round(trail * SAMPLE_RATE))
    peak = 10 ** (rng.uniform(-14.0, -3.0) / 20)
    floor = peak * 10 ** (-rng.uniform(45.0, 65.0) / 20)
    colour = rng.uniform(0.0, 0.9)
    noise = sosfilt([[1.0 - colour, 0.0, 0.0, 1.0, -colour, 0.0]], rng.standard_normal(n + 2000))[2000:]
    samples = floor * noise / np.sqrt(np.mean(noise**2))
    samples[n_lead:n_lead + len(speech)] += peak * speech / np.max(np.abs(speech))
    return samples, n_lead / SAMPLE_RATE


def session_voice(session, seed, perturbation_scale):
    """The session's SessionVoice (its healthy and perturbed sources, and its severity), as
    synthesize_recording draws it."""
    rng = np.random.default_rng([seed, RECORDING_STREAM, int(session["session_id"])])
    return voice_source(seed, session, perturbation_scale, rng)


def synthesize_recording(session, seed, perturbation_scale, words=None, cue_phones=ALL_PHONES):
    """The phrase spoken by the session's speaker, with its voice-source perturbations.

    `session`: a mapping with session_id, speaker_id, sex (female/male), age (years), category
    (healthy/organic/non-organic) and pathologies (labels), like a catalog row. `words`: the
    phrase as phonetics.Word (default: resources/phrase.txt pronounced by the lexicon).
    `cue_phones`: where the perturbations act: "all" (everywhere) or phones of the phrase, as
    cues.check_cue_phones returns them (see synth/cues.py).

    Returns (samples, words, phones): float samples at 50 kHz with |x| < 1, and the true word
    and phone segments (textgrids.Segment, seconds from the start of the recording)."""
    if not np.isfinite(float(session["age"])):
        raise ValueError(f"session {session['session_id']}: no age (recording or birth date missing)")
    words = _default_phrase() if words is None else words
    rng = np.random.default_rng([seed, RECORDING_STREAM, int(session["session_id"])])
    speaker = speaker_traits(seed, int(session["speaker_id"]), session["sex"], float(session["age"]))
    voice = voice_source(seed, session, perturbation_scale, rng)
    word_segments, phone_segments, speech_s = phone_timing(words, speaker, rng)
    # Without a cue, or without perturbations (healthy, or severity 0), one source acts
    # everywhere: such recordings are the same whatever the cue phones.
    cue = cue_for(phone_segments, cue_phones) if voice.severity > 0 else None
    speech = synthesize_speech(
        word_segments, phone_segments, speech_s, speaker, voice.perturbed if cue is None else voice, rng, cue
    )
    # With a cue, the channel (and so the timing in the recording) has its own stream: the
    # speech draws differ with the cue phones, the recording around them does not.
    channel_rng = rng if cue is None else np.random.default_rng([seed, CHANNEL_STREAM, int(session["session_id"])])
    samples, offset = recording_channel(speech, channel_rng)

    def shifted(segments):
        return [Segment(s.start + offset, s.end + offset, s.label) for s in segments]

    return samples, shifted(word_segments), shifted(phone_segments)
