"""Per-recording relevance figures: the log-mel spectrogram of each model's input, coloured by
the model's rollout relevance, with the aligned words and phones underneath.

Colour: each cell's CIE L*C*h colour has its lightness from the spectral power (dB below the
recording's peak) and its hue and chroma from the relevance (rescaled from the map's minimum to
its maximum): dull violet-blue for the least relevance through magenta and red to vivid orange
for the most. Lightness is left to power alone, so the two never compete; a 2-D key shows the mapping.

Imported by one job per recording: numpy, pandas and matplotlib only (no torch)."""
import logging
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from svd_explain.align.status import figure_note, read_status  # noqa: E402
from svd_explain.cases import CASE_MEANINGS  # noqa: E402
from svd_explain.frames import frame_extent  # noqa: E402
from svd_explain.labels import CLASS_NAMES  # noqa: E402
from svd_explain.textgrids import read_alignment  # noqa: E402

log = logging.getLogger(__name__)

# The AST feature extractor's mel filters (Kaldi defaults): from 20 Hz to the Nyquist frequency.
LOW_FREQUENCY_HZ = 20.0
SAMPLE_RATE = 16000
# Power shown: this many dB below the recording's loudest cell are drawn black.
DYNAMIC_RANGE_DB = 70.0
LIGHTNESS = (4.0, 82.0)
# Hue (degrees) and chroma from the map's least relevance to its most.
HUE = (285.0, 425.0)
CHROMA = (22.0, 75.0)
FREQUENCY_TICKS_HZ = (100, 250, 500, 1000, 2000, 4000, 7000)
FONT_SIZE = 7
# Narrower figures stack the panels instead of setting them side by side.
SIDE_BY_SIDE_MIN_WIDTH_IN = 5.0
# Characters per inch before a line wraps: the (8.4 pt) title, a note in the tiers (7 pt).
TITLE_CHARACTERS_PER_INCH = 15
NOTE_CHARACTERS_PER_INCH = 15
# Words tier, phones tier (two lines of labels).
TIER_HEIGHTS = (1.0, 1.6)


@dataclass(frozen=True)
class Panel:
    """One model's map: title, log-mel power (natural log, mel bins × frames) and relevance
    (same shape; NaN where undefined)."""

    title: str
    fbank: np.ndarray
    relevance: np.ndarray


# --- colour -------------------------------------------------------------------------------

_XYZ_TO_LINEAR_SRGB = np.array(
    [[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560], [0.0556434, -0.2040259, 1.0572252]]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def _lab_to_linear_srgb(lightness, a, b):
    fy = (lightness + 16.0) / 116.0
    f = np.stack([fy + a / 500.0, fy, fy - b / 200.0], axis=-1)
    delta = 6.0 / 29.0
    xyz = np.where(f > delta, f**3, 3 * delta**2 * (f - 4.0 / 29.0)) * _D65_WHITE
    return xyz @ _XYZ_TO_LINEAR_SRGB.T


def lch_to_srgb(lightness, chroma, hue_degrees):
    """sRGB (…, 3) in [0, 1] of CIE L*C*h colours; out-of-gamut colours keep their lightness
    and hue and lose chroma until they fit."""
    lightness, chroma, hue = np.broadcast_arrays(
        np.asarray(lightness, float), np.asarray(chroma, float), np.radians(hue_degrees)
    )
    low, high = np.zeros(lightness.shape), np.ones(lightness.shape)
    fits = lambda s: np.all(  # noqa: E731
        np.abs(_lab_to_linear_srgb(lightness, s * chroma * np.cos(hue), s * chroma * np.sin(hue)) - 0.5) <= 0.5,
        axis=-1,
    )
    full = fits(high)
    for _ in range(14):  # bisection on the chroma scale: 2^-14 is far below a colour step
        middle = (low + high) / 2
        ok = fits(middle)
        low = np.where(ok, middle, low)
        high = np.where(ok, high, middle)
    scale = np.where(full, 1.0, low)
    linear = _lab_to_linear_srgb(lightness, scale * chroma * np.cos(hue), scale * chroma * np.sin(hue))
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def power_fraction(fbank):
    """Natural-log power → [0, 1]: 0 at DYNAMIC_RANGE_DB below the peak, 1 at the peak."""
    decibels = 10.0 / math.log(10.0) * np.asarray(fbank, float)
    return np.clip((decibels - decibels.max() + DYNAMIC_RANGE_DB) / DYNAMIC_RANGE_DB, 0.0, 1.0)


# A signed map's colour scale ends at this percentile of its positive cells; the cells above
# it saturate. (captum's visualize_image_attr ends it where 98 % of the positive sum is
# reached, which for Integrated Gradients' maps, whose sum sits in a few dozen cells, leaves
# all but those cells without colour.)
SIGNED_SCALE_PERCENTILE = 99.0


def relevance_fraction(relevance):
    """Relevance rescaled to [0, 1] (NaN stays NaN).

    A map without negative cells (rollout, the attention explainers) runs from its minimum to
    its maximum: rollout maps sit on a floor that the identity term adds everywhere, so the
    range above the floor is what shows where the model looks. A signed map (phone occlusion,
    Integrated Gradients) shows its positive part, towards the decision it explains, from 0 up
    to the SIGNED_SCALE_PERCENTILE of its positive cells, saturating above: its negative cells
    and its zeros (the frames occlusion never removed) show none, and a few very large cells
    do not leave the rest invisible."""
    relevance = np.asarray(relevance, float)
    if not np.isfinite(relevance).any():
        raise ValueError("relevance map has no finite value")
    if np.nanmin(relevance) < 0:
        positive = np.clip(np.where(np.isfinite(relevance), relevance, 0.0), 0.0, None)
        if positive.max() == 0:
            return np.where(np.isfinite(relevance), 0.0, np.nan)
        high = np.percentile(positive[positive > 0], SIGNED_SCALE_PERCENTILE)
        return np.where(np.isfinite(relevance), np.clip(positive / high, 0.0, 1.0), np.nan)
    low, high = np.nanmin(relevance), np.nanmax(relevance)
    if high == low:
        return np.where(np.isfinite(relevance), 0.0, np.nan)
    return (relevance - low) / (high - low)


def colour_cells(power, relevance):
    """RGB of cells from power and relevance fractions in [0, 1] (relevance NaN: grey)."""
    undefined = ~np.isfinite(relevance)
    relevance = np.where(undefined, 0.0, relevance)
    lightness = LIGHTNESS[0] + (LIGHTNESS[1] - LIGHTNESS[0]) * power
    chroma = np.where(undefined, 0.0, CHROMA[0] + (CHROMA[1] - CHROMA[0]) * relevance)
    hue = HUE[0] + (HUE[1] - HUE[0]) * relevance
    return lch_to_srgb(lightness, chroma, hue)


# --- axes ---------------------------------------------------------------------------------

def _mel(frequency_hz):
    return 1127.0 * np.log1p(np.asarray(frequency_hz, float) / 700.0)


def mel_bin_position(frequency_hz, n_bins, sample_rate=SAMPLE_RATE):
    """Where `frequency_hz` lies on the mel-bin axis (bin i's filter peaks at position i)."""
    low, high = _mel(LOW_FREQUENCY_HZ), _mel(sample_rate / 2)
    return (_mel(frequency_hz) - low) / ((high - low) / (n_bins + 1)) - 1.0


def _draw_tier(ax, segments, name, duration, staggered):
    """An interval tier; `staggered` alternates the labels between two lines, because phones
    are often shorter than their label is wide."""
    ax.set_ylim(0, 1)
    ax.set_yticks([0.5], [name])
    ax.tick_params(axis="y", length=0)
    for index, segment in enumerate(segments):
        ax.axvspan(segment.start, segment.end, color="0.93", lw=0)
        ax.axvline(segment.start, color="0.25", lw=0.6)
        ax.axvline(segment.end, color="0.25", lw=0.6)
        height = (0.72 if index % 2 == 0 else 0.28) if staggered else 0.5
        ax.text((segment.start + segment.end) / 2, height, segment.label, ha="center", va="center", clip_on=True)
    ax.set_xlim(0, duration)


def _draw_key(ax):
    """The 2-D colour key: relevance across, power up."""
    relevance, power = np.meshgrid(np.linspace(0, 1, 64), np.linspace(0, 1, 64))
    ax.imshow(colour_cells(power, relevance), origin="lower", aspect="auto", extent=(0, 1, -DYNAMIC_RANGE_DB, 0))
    ax.set_xticks([0, 1], ["min", "max"])
    ax.set_xlabel("relevance")
    ax.set_ylabel("power (dB re peak)")
    ax.yaxis.set_label_position("right")
    ax.yaxis.tick_right()


def _draw_spectrogram(ax, panel, words, phones, show_ylabel):
    if panel.fbank.shape != panel.relevance.shape:
        raise ValueError(f"{panel.title}: fbank {panel.fbank.shape} ≠ relevance {panel.relevance.shape}")
    n_bins, n_frames = panel.fbank.shape
    left, right = frame_extent(n_frames)
    image = colour_cells(power_fraction(panel.fbank), relevance_fraction(panel.relevance))
    ax.imshow(image, origin="lower", aspect="auto", extent=(left, right, -0.5, n_bins - 0.5),
              interpolation="nearest")
    ax.set_title(panel.title)
    ticks = [f for f in FREQUENCY_TICKS_HZ if -0.5 <= mel_bin_position(f, n_bins) <= n_bins - 0.5]
    ax.set_yticks(mel_bin_position(ticks, n_bins), [f"{f:g}" for f in ticks])
    if show_ylabel:
        ax.set_ylabel("frequency (Hz, mel scale)")
    else:
        ax.tick_params(labelleft=False)
    ax.tick_params(labelbottom=False)
    if phones is not None:
        for segments, width in ((phones, 0.3), (words, 0.7)):
            for segment in segments:
                ax.axvline(segment.start, color="white", lw=width, alpha=0.6)
                ax.axvline(segment.end, color="white", lw=width, alpha=0.6)
    ax.set_xlim(0, right)


def _draw_tiers(figure, rows, words, phones, alignment_note, spectrogram_ax, show_names, characters):
    """The words and phones tiers in the grid slice `rows` (two rows) under a spectrogram;
    without an alignment, one axes over both rows holding the note, wrapped to `characters` a
    line."""
    duration = spectrogram_ax.get_xlim()[1]
    if phones is None:
        ax = figure.add_subplot(rows, sharex=spectrogram_ax)
        ax.text(0.5, 0.5, textwrap.fill(alignment_note or "no alignment", characters), transform=ax.transAxes,
                ha="center", va="center", style="italic")
        ax.set_yticks([])
        ax.set_xlabel("time (s)")
        return
    # The tiers are rows of the figure's own grid (not a nested one), so that the layout engine
    # gives them the spectrogram's exact width and the shared time axis lines up.
    grid, column, top = rows.get_gridspec(), rows.colspan.start, rows.rowspan.start
    word_ax, phone_ax = (figure.add_subplot(grid[top + i, column], sharex=spectrogram_ax) for i in (0, 1))
    _draw_tier(word_ax, words, "words" if show_names else "", duration, staggered=False)
    _draw_tier(phone_ax, phones, "phones" if show_names else "", duration, staggered=True)
    word_ax.tick_params(labelbottom=False)
    phone_ax.set_xlabel("time (s)")
    if alignment_note:
        # An alignment the guard doubts is drawn, with the doubt written over it.
        word_ax.set_title(textwrap.fill(alignment_note, characters), loc="left", fontsize="small",
                          style="italic", color="tab:red", pad=2)


def draw_relevance_figure(panels, title, out_paths, words=None, phones=None, alignment_note=None,
                          dpi=200, width_in=7.0):
    """Draw `panels` with the words and phones tiers underneath (`alignment_note` in their
    place where there is no alignment, above them where the alignment is doubtful) and a 2-D
    colour key; save to every path in `out_paths` (format from the suffix). From
    SIDE_BY_SIDE_MIN_WIDTH_IN on the panels stand side by side, each over its own tiers;
    narrower figures (a journal column) stack them over one pair of tiers, so that the labels
    stay at a readable size."""
    if not panels:
        raise ValueError("no panels to draw")
    if width_in >= SIDE_BY_SIDE_MIN_WIDTH_IN:
        draw_relevance_grid([panels], title, out_paths, words, phones, alignment_note, dpi, width_in)
        return
    if (words is None) != (phones is None):
        raise ValueError("give both words and phones, or neither")
    n = len(panels)
    with plt.rc_context({"font.size": FONT_SIZE, "font.family": "DejaVu Sans", "axes.linewidth": 0.6}):
        figure = plt.figure(figsize=(width_in, 0.6 + 1.45 * n + 0.8), layout="constrained")
        grid = figure.add_gridspec(n + 2, 2, height_ratios=[8] * n + [1.2 * h for h in TIER_HEIGHTS],
                                   width_ratios=[1, 0.12])
        figure.get_layout_engine().set(h_pad=0.01, hspace=0.01)
        _draw_key(figure.add_subplot(grid[:, -1]))
        first = None
        for index, panel in enumerate(panels):
            ax = figure.add_subplot(grid[index, 0], sharex=first, sharey=first)
            _draw_spectrogram(ax, panel, words, phones, show_ylabel=True)
            first = first or ax
        _draw_tiers(figure, grid[n:n + 2, 0], words, phones, alignment_note, first, show_names=True,
                    characters=int(NOTE_CHARACTERS_PER_INCH * 0.8 * width_in))
        _finish(figure, title, out_paths, width_in, dpi)


def draw_relevance_grid(panel_rows, title, out_paths, words=None, phones=None, alignment_note=None,
                        dpi=200, width_in=7.0, row_labels=None):
    """Panels in rows (e.g. one per explainer) and columns (one per model), each column over
    its own words and phones tiers, and a 2-D colour key; save to every path in `out_paths`.
    `row_labels` name the rows at the left (the panels' titles then stand over the first row
    only: the columns share them)."""
    if not panel_rows or not all(panel_rows) or len({len(row) for row in panel_rows}) != 1:
        raise ValueError("give rows of panels, all of the same length")
    if (words is None) != (phones is None):
        raise ValueError("give both words and phones, or neither")
    n_rows, n_columns = len(panel_rows), len(panel_rows[0])
    with plt.rc_context({"font.size": FONT_SIZE, "font.family": "DejaVu Sans", "axes.linewidth": 0.6}):
        height = 0.42 * width_in + 0.32 * width_in * (n_rows - 1)
        figure = plt.figure(figsize=(width_in, height), layout="constrained")
        grid = figure.add_gridspec(n_rows + 2, n_columns + 1, height_ratios=[8] * n_rows + list(TIER_HEIGHTS),
                                   width_ratios=[1] * n_columns + [0.13])
        figure.get_layout_engine().set(h_pad=0.01, hspace=0.01)
        _draw_key(figure.add_subplot(grid[:, -1]))
        panel_width_in = 0.85 * width_in / n_columns
        first = None
        for column in range(n_columns):
            top = None
            for row in range(n_rows):
                ax = figure.add_subplot(grid[row, column], sharex=first, sharey=first)
                _draw_spectrogram(ax, panel_rows[row][column], words, phones, show_ylabel=column == 0)
                if row_labels is not None:
                    if row > 0:
                        ax.set_title("")
                    if column == 0:
                        ax.set_ylabel(f"{row_labels[row]}\nfrequency (Hz, mel scale)")
                first, top = first or ax, top or ax
            _draw_tiers(figure, grid[n_rows:n_rows + 2, column], words, phones, alignment_note, top,
                        show_names=column == 0, characters=int(NOTE_CHARACTERS_PER_INCH * panel_width_in))
        _finish(figure, title, out_paths, width_in, dpi)


def _finish(figure, title, out_paths, width_in, dpi):
    figure.suptitle(textwrap.fill(title, width=int(TITLE_CHARACTERS_PER_INCH * width_in)))
    for path in out_paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi)
    plt.close(figure)


# --- the workflow's figures ---------------------------------------------------------------

def read_maps(npz_path, session):
    """(relevance, fbank) of `session` from a model's rollout file (only those two arrays)."""
    with np.load(npz_path, allow_pickle=False) as maps:
        key = f"{session}.relevance"
        if key not in maps.files:
            raise KeyError(f"{npz_path}: no relevance map for session {session}")
        return maps[key], maps[f"{session}.fbank"]


def prediction_title(model, score, pred):
    return f"{model}: {CLASS_NAMES[int(pred)]} (P(path.) = {score:.2f})"


def recording_figure(session, methods, models, map_paths, prediction_paths, split_path, cases_path,
                     alignment_path, status_path, out_paths, dpi=200, width_in=7.0):
    """The figure of one test recording: for each of `methods` (rows) the maps of `models`
    (columns), from `map_paths` (method-major: every model's map file of the first method,
    then of the second, ...). One method: the study figure, models side by side (or stacked in
    a narrow figure)."""
    session_id = int(session)
    split = pd.read_parquet(split_path).set_index("session_id")
    cases = pd.read_csv(cases_path, sep="\t").set_index("session_id")
    if session_id not in split.index or session_id not in cases.index:
        raise KeyError(f"session {session} is not in {split_path} and {cases_path}")
    if len(map_paths) != len(methods) * len(models):
        raise ValueError(f"{len(map_paths)} map files for {len(methods)} methods × {len(models)} models")
    meta, case = split.loc[session_id], cases.loc[session_id, "case"]
    predictions = []
    for model, prediction_path in zip(models, prediction_paths, strict=True):
        table = pd.read_parquet(prediction_path).set_index("session_id")
        if session_id not in table.index:
            raise KeyError(f"{prediction_path}: no prediction for session {session}")
        predictions.append(prediction_title(model, table.loc[session_id, "score"], table.loc[session_id, "pred"]))
    rows = []
    for m in range(len(methods)):
        row = []
        for k, title in enumerate(predictions):
            relevance, fbank = read_maps(map_paths[m * len(models) + k], session)
            row.append(Panel(title, fbank, relevance))
        rows.append(row)
    title = (
        f"Session {session} · {meta['sex']} · true: {CLASS_NAMES[int(meta['label'])]} ({meta['category']}) · "
        f"case {case} ({CASE_MEANINGS[case]})"
    )
    status = read_status(status_path)
    note = figure_note(status)
    words = phones = None
    if status["aligned"]:
        words, phones, _ = read_alignment(alignment_path)
    else:
        log.warning("session %s has no alignment (%s): drawn without phones", session, status["reason"])
    if len(rows) == 1:
        draw_relevance_figure(rows[0], title, out_paths, words, phones, alignment_note=note, dpi=dpi, width_in=width_in)
    else:
        draw_relevance_grid(rows, title, out_paths, words, phones, alignment_note=note, dpi=dpi, width_in=width_in,
                            row_labels=methods)
