"""How well an aligner finds the phone boundaries of the synthetic corpus, whose true boundaries
are known: per phone and overall, the absolute boundary error (median, 90th percentile, share
within 20 ms), and a figure overlaying true and found boundaries on the spectrogram.

A phone's boundaries are its start and its end. The row of a phone pools both; the `overall` row
counts every distinct boundary of a recording once (the end of one phone and the start of the
next are one boundary when both the truth and the alignment make them touch). Only recordings
that were aligned are scored; their number and the others' are in the log."""
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from svd_explain.align.status import read_status
from svd_explain.textgrids import read_alignment

log = logging.getLogger(__name__)

WITHIN_S = 0.020
COLUMNS = ["phone", "n", "median_ms", "p90_ms", "within_20ms", "mean_signed_ms"]


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


def _row(label, true_times, found_times):
    signed = (np.asarray(found_times) - np.asarray(true_times)) * 1000
    errors = np.abs(signed)
    return {
        "phone": label,
        "n": len(errors),
        "median_ms": round(float(np.median(errors)), 2),
        "p90_ms": round(float(np.percentile(errors, 90)), 2),
        "within_20ms": round(float(np.mean(errors <= WITHIN_S * 1000)), 4),
        "mean_signed_ms": round(float(signed.mean()), 2),
    }


def accuracy_table(recordings):
    """The accuracy table from [(true TextGrid, found TextGrid)]: one row per phone (sorted),
    then `overall`."""
    per_phone, overall = {}, []
    for true_path, found_path in recordings:
        _, true_phones, _ = read_alignment(true_path)
        _, found_phones, _ = read_alignment(found_path)
        pairs = boundary_pairs(true_phones, found_phones)
        for label, truth, found in pairs:
            per_phone.setdefault(label, []).append((truth, found))
        overall += sorted({(round(t, 4), round(f, 4)) for _, t, f in pairs})
    if not overall:
        raise ValueError("no aligned recording to score")
    rows = [_row(label, *zip(*pairs)) for label, pairs in sorted(per_phone.items())]
    rows.append(_row("overall", *zip(*overall)))
    return pd.DataFrame(rows, columns=COLUMNS)


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
