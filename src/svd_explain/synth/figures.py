"""A look at a synthetic corpus: spectrograms of a few healthy, organic and non-organic
recordings with their true phones, where the pathology cue is planted (shaded, from the cue
table), and a stretch of the waveform of one vowel (a cue phone where there is one), where
jitter, shimmer, subharmonics and breath noise show cycle by cycle."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.signal import spectrogram

from svd_explain.audio import read_recording
from svd_explain.catalog import CATEGORIES_TABLE, read_metadata, sessions_from_metadata
from svd_explain.synth.corpus import LAYOUTS, recording_path, truth_path
from svd_explain.synth.phonetics import PHONES
from svd_explain.textgrids import read_alignment

CATEGORIES = ("healthy", "organic", "non-organic")
MAX_HZ = 6000
# The vowel whose waveform is shown: long and accented, so its cycles are clear.
WAVEFORM_VOWEL = "eː"
WAVEFORM_S = 0.06


def corpus_recording(corpus_dir, session_id):
    """The path of a session's recording in a corpus of either layout."""
    for layout in LAYOUTS:
        path = recording_path(corpus_dir, session_id, layout)
        if path.exists():
            return path
    raise FileNotFoundError(f"{corpus_dir} has no recording of session {session_id}")


def _draw_recording(fig, cell, corpus_dir, session, cues):
    samples, rate = read_recording(corpus_recording(corpus_dir, session["session_id"]))
    samples = samples[:, 0]
    _, phones, duration = read_alignment(truth_path(corpus_dir, session["session_id"]))
    spec_ax, phone_ax, wave_ax = (fig.add_subplot(c) for c in cell.subgridspec(3, 1, height_ratios=[5, 0.6, 1.6], hspace=0.25))

    # 25 ms windows resolve the harmonics of all but the lowest voices and still show formants.
    freqs, times, power = spectrogram(samples, rate, window="hann", nperseg=int(0.025 * rate), noverlap=int(0.0225 * rate))
    keep = freqs <= MAX_HZ
    level = 10 * np.log10(power[keep] + 1e-20)
    spec_ax.pcolormesh(times, freqs[keep] / 1000, level, shading="auto", cmap="magma", vmin=level.max() - 75, vmax=level.max(), rasterized=True)
    # Show the speech with a little of the silence around it.
    shown = (max(phones[0].start - 0.15, 0.0), min(phones[-1].end + 0.15, duration))
    spec_ax.set_xlim(*shown)
    spec_ax.set_xticks([])
    spec_ax.set_ylabel("kHz")
    planted = bool(len(cues)) and bool(cues["planted"].iloc[0])
    every_phone = len(cues) == len(phones)
    labels = ", ".join(session["pathologies"]) or "no pathology"
    cue = "\nno cue" if not planted else (
        f"\ncue on every phone, severity {cues['severity'].iloc[0]:.2f}" if every_phone
        else f"\ncue on /{' '.join(dict.fromkeys(cues['phone']))}/ (red), severity {cues['severity'].iloc[0]:.2f}"
    )
    spec_ax.set_title(
        f"{session['session_id']}: {session['category']}, {session['sex']}, {session['age']:.0f} y ({labels}){cue}",
        fontsize=7,
    )
    if not every_phone:
        for row in cues.itertuples():
            # Strong where a cue is planted; faint where it would be (healthy sessions).
            phone_ax.axvspan(row.cue_start_s, row.cue_end_s, color="tab:red", alpha=0.35 if planted else 0.12, lw=0)
            spec_ax.axvspan(row.cue_start_s, row.cue_end_s, ymin=0.97, ymax=1.0, color="tab:red" if planted else "0.6")
    for segment in phones:
        for ax in (spec_ax, phone_ax):
            ax.axvline(segment.start, color="white" if ax is spec_ax else "black", lw=0.4, alpha=0.6)
            ax.axvline(segment.end, color="white" if ax is spec_ax else "black", lw=0.4, alpha=0.6)
        phone_ax.text((segment.start + segment.end) / 2, 0.5, segment.label, ha="center", va="center", fontsize=7)
    phone_ax.set_xlim(*shown)
    phone_ax.set_yticks([])
    phone_ax.tick_params(labelsize=6, pad=1)

    cue_vowels = [s for s in phones if s.label in set(cues["phone"]) and PHONES[s.label].manner == "vowel"] if not every_phone else []
    vowel = next(iter(cue_vowels), None) or next((s for s in phones if s.label == WAVEFORM_VOWEL), None)
    if vowel is not None:
        middle = (vowel.start + vowel.end) / 2
        start = int((middle - WAVEFORM_S / 2) * rate)
        stretch = samples[start:start + int(WAVEFORM_S * rate)]
        wave_ax.plot(np.arange(len(stretch)) / rate * 1000, stretch, lw=0.5, color="black")
        wave_ax.set_xlim(0, WAVEFORM_S * 1000)
        wave_ax.set_xlabel(f"ms of the waveform in /{vowel.label}/", fontsize=7, labelpad=1)
    wave_ax.set_yticks([])
    wave_ax.tick_params(labelsize=7)


def plot_examples(corpus_dir, out_png, n_per_class, seed, categories=CATEGORIES_TABLE, cues_parquet=None):
    """Draw `n_per_class` recordings of each category (Huckvale's scheme in `categories`;
    chosen with `seed`, from different speakers) of a synthetic corpus into one PNG: rows are
    categories. With the corpus's cue table (`cues_parquet`), the planted cues are shaded."""
    cues = pd.read_parquet(cues_parquet) if cues_parquet else pd.DataFrame(columns=["session_id", "planted", "phone"])
    table = read_metadata(f"{corpus_dir}/summary.csv")
    sessions, _ = sessions_from_metadata(table, sessions="first_per_speaker", categories_path=categories)
    rng = np.random.default_rng(seed)
    chosen = []
    for category in CATEGORIES:
        candidates = sessions.loc[sessions["category"] == category]
        if len(candidates) == 0:
            raise ValueError(f"{corpus_dir} has no {category} session to show")
        picks = rng.choice(len(candidates), size=min(n_per_class, len(candidates)), replace=False)
        chosen.append(candidates.iloc[np.sort(picks)].to_dict("records"))

    fig = plt.figure(figsize=(5.0 * n_per_class, 4.2 * len(CATEGORIES)))
    grid = fig.add_gridspec(len(CATEGORIES), n_per_class, hspace=0.35, wspace=0.15)
    for row, category_sessions in enumerate(chosen):
        for column, session in enumerate(category_sessions):
            _draw_recording(fig, grid[row, column], corpus_dir, session, cues.loc[cues["session_id"] == session["session_id"]])
    fig.savefig(out_png, dpi=110, bbox_inches="tight")
    plt.close(fig)
