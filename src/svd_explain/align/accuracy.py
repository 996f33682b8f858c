"""How well an aligner finds the phone boundaries of a corpus whose true boundaries are known
(the synthetic corpus; the external speech of benchmarks/align_external.py): per phone and
overall, the absolute boundary error (median, 90th percentile, shares within 10, 20 and 50 ms),
the signed error of every boundary of the phrase, and a figure overlaying true and found
boundaries on the spectrogram.

A phone's boundaries are its start and its end. The row of a phone pools both; the `overall` row
counts every distinct boundary of a recording once (the end of one phone and the start of the
next are one boundary when both the truth and the alignment make them touch). Only recordings
that were aligned are scored (doubtful ones too: the guard does not change the score); their
number and the others' are in the log."""
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from svd_explain.align.status import read_status
from svd_explain.textgrids import read_alignment

log = logging.getLogger(__name__)

WITHIN_MS = (10, 20, 50)
COLUMNS = ["phone", "n", "median_ms", "p90_ms", *(f"within_{ms}ms" for ms in WITHIN_MS), "mean_signed_ms"]
BOUNDARY_COLUMNS = ["position", "boundary", "n", "median_signed_ms", "median_ms", "within_20ms"]


def boundary_pairs(true_phones, found_phones):
    """[(phone, true time, found time)] for the start and end of every phone; the phone
    sequences must agree."""
    true_labels = [p.label for p in true_phones]
    found_labels = [p.label for p in found_phones]
    if true_labels != found_labels:
        raise ValueError(f"phone sequences differ: true {true_labels}, found {found_labels}")
    pairs = []
    for truth, found in zip(true_phones, found_phones):
        pairs += [(truth.label, truth.start, found.start), (truth.label, truth.end, found.end)]
    return pairs


def distinct_boundaries(true_phones, found_phones):
    """[(position, name, true time, found time)] of every distinct boundary of a recording in
    the order of the phrase. `position` is the number of the phrase's phones before the
    boundary; `name` the phones on either side (`_` for a pause or silence). A phone's start
    and the previous phone's end are one boundary when both the truth and the alignment make
    them touch."""
    boundary_pairs(true_phones, found_phones)  # the phone sequences must agree
    out = []
    for k, (truth, found) in enumerate(zip(true_phones, found_phones)):
        true_touch = k > 0 and abs(true_phones[k - 1].end - truth.start) < 1e-6
        found_touch = k > 0 and abs(found_phones[k - 1].end - found.start) < 1e-6
        if not (true_touch and found_touch):
            left = true_phones[k - 1].label if true_touch else "_"
            out.append((k, f"{left}|{truth.label}", truth.start, found.start))
        following = k + 1 < len(true_phones) and abs(true_phones[k + 1].start - truth.end) < 1e-6
        right = true_phones[k + 1].label if following else "_"
        out.append((k + 1, f"{truth.label}|{right}", truth.end, found.end))
    return out


def _row(label, true_times, found_times):
    signed = (np.asarray(found_times) - np.asarray(true_times)) * 1000
    errors = np.abs(signed)
    return {
        "phone": label,
        "n": len(errors),
        "median_ms": round(float(np.median(errors)), 2),
        "p90_ms": round(float(np.percentile(errors, 90)), 2),
        **{f"within_{ms}ms": round(float(np.mean(errors <= ms)), 4) for ms in WITHIN_MS},
        "mean_signed_ms": round(float(signed.mean()), 2),
    }


def _read_pairs(recordings):
    for true_path, found_path in recordings:
        yield read_alignment(true_path)[1], read_alignment(found_path)[1]


def accuracy_table(recordings):
    """The accuracy table from [(true TextGrid, found TextGrid)]: one row per phone (sorted),
    then `overall`."""
    per_phone, overall = {}, []
    for true_phones, found_phones in _read_pairs(recordings):
        for label, truth, found in boundary_pairs(true_phones, found_phones):
            per_phone.setdefault(label, []).append((truth, found))
        overall += [(t, f) for _, _, t, f in distinct_boundaries(true_phones, found_phones)]
    if not overall:
        raise ValueError("no aligned recording to score")
    rows = [_row(label, *zip(*pairs)) for label, pairs in sorted(per_phone.items())]
    rows.append(_row("overall", *zip(*overall)))
    return pd.DataFrame(rows, columns=COLUMNS)


def boundary_table(recordings):
    """The signed error of each boundary of the phrase, from [(true TextGrid, found TextGrid)]:
    `position` (the number of the phrase's phones before it), `boundary` (left|right phone),
    `n`, `median_signed_ms` (found - true: positive is late), `median_ms`, `within_20ms`."""
    errors = {}
    for true_phones, found_phones in _read_pairs(recordings):
        for position, name, truth, found in distinct_boundaries(true_phones, found_phones):
            errors.setdefault((position, name), []).append(1000 * (found - truth))
    # In the order of the phrase; at one position a phone's end comes before a start after a pause.
    order = sorted(errors, key=lambda key: (key[0], key[1].startswith("_|"), key[1]))
    rows = [
        {"position": position, "boundary": name, "n": len(errors[position, name]),
         "median_signed_ms": round(float(np.median(errors[position, name])), 1),
         "median_ms": round(float(np.median(np.abs(errors[position, name]))), 1),
         "within_20ms": round(float(np.mean(np.abs(errors[position, name]) <= 20)), 3)}
        for position, name in order
    ]
    return pd.DataFrame(rows, columns=BOUNDARY_COLUMNS)


def boundary_figure(out_path, examples, dpi=150):
    """Spectrograms of a few recordings with the true boundaries (above) and the found ones
    (below). `examples`: [(title, wav path, true TextGrid, found TextGrid)]."""
    # Imported here: scoring alone (tests, benchmarks) needs no plotting library.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import soundfile
    from scipy.signal import spectrogram

    fig, axes = plt.subplots(len(examples), 1, figsize=(10, 2.6 * len(examples)), squeeze=False)
    for ax, (title, wav_path, true_path, found_path) in zip(axes[:, 0], examples):
        samples, rate = soundfile.read(str(wav_path), dtype="float64", always_2d=True)
        freqs, times, power = spectrogram(samples[:, 0], rate, nperseg=400, noverlap=240)
        db = 10 * np.log10(power + 1e-12)
        ax.pcolormesh(times, freqs / 1000, db, shading="auto", cmap="Greys", vmin=np.percentile(db, 40), vmax=db.max())
        _, true_phones, _ = read_alignment(true_path)
        _, found_phones, _ = read_alignment(found_path)
        top = freqs[-1] / 1000
        for phones, (low, high), style, colour in (
            (true_phones, (0.5, 1.0), "-", "tab:blue"),
            (found_phones, (0.0, 0.5), "--", "tab:orange"),
        ):
            edges = sorted({round(t, 4) for p in phones for t in (p.start, p.end)})
            for t in edges:
                ax.axvline(t, ymin=low, ymax=high, color=colour, linestyle=style, linewidth=1.0)
            for p in phones:
                ax.text((p.start + p.end) / 2, top * (high - 0.07), p.label, color=colour, ha="center", va="center", fontsize=8)
        ax.set_xlim(max(true_phones[0].start - 0.15, 0), true_phones[-1].end + 0.15)
        ax.set_ylabel("kHz")
        ax.set_title(title, fontsize=9)
    axes[-1, 0].set_xlabel("time (s)")
    handles = [
        plt.Line2D([], [], color="tab:blue", linestyle="-", label="true (upper half)"),
        plt.Line2D([], [], color="tab:orange", linestyle="--", label="found (lower half)"),
    ]
    axes[0, 0].legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    fig.savefig(out_path, dpi=dpi)
    plt.close(fig)


def write_accuracy(status_paths, alignment_paths, truth_dir, audio_paths, table_path, figure_path, n_examples=3):
    """Score the aligned recordings against the truth (<truth_dir>/<session>.TextGrid); write
    the table (TSV) and the figure of the first `n_examples` aligned recordings. The status,
    alignment and audio files are matched by session (file stem). Returns the table."""
    alignments = {Path(p).stem: Path(p) for p in alignment_paths}
    audio = {Path(p).stem: Path(p) for p in audio_paths}
    aligned, failed = [], []
    for path in status_paths:
        status = read_status(path)
        (aligned if status["aligned"] else failed).append(str(status["session_id"]))
    if failed:
        log.info("left out %d recording(s) that could not be aligned: %s", len(failed), failed)
    pairs = [(Path(truth_dir, f"{s}.TextGrid"), alignments[s]) for s in aligned]
    table = accuracy_table(pairs)
    table.to_csv(table_path, sep="\t", index=False)
    overall = table.iloc[-1]
    log.info(
        "%d recordings: median %.1f ms, 90th percentile %.1f ms, %.1f %% within 20 ms",
        len(aligned), overall.median_ms, overall.p90_ms, 100 * overall.within_20ms,
    )
    examples = [(f"session {s}", audio[s], truth, found) for s, (truth, found) in list(zip(aligned, pairs))[:n_examples]]
    boundary_figure(figure_path, examples)
    return table
