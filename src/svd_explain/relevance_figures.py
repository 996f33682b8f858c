"""The figures of the relevance statistics (relevance.py): relevance per phone, spread of the
maps, relevance against power. Plotting only: they read the tables the statistics wrote."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from svd_explain.figures import FONT_SIZE  # noqa: E402
from svd_explain.labels import CLASS_NAMES  # noqa: E402
from svd_explain.relevance import MAP_MEASURES, TOP_SHARE, is_study_phone, read_phone_table, table_sentence_order  # noqa: E402


def plot_phones(table, models, sentence_order, path, dpi=200):
    """Mean relative relevance per phone in sentence order, one panel per model, healthy and
    pathological side by side; the study's phones in bold."""
    x = np.arange(len(sentence_order))
    with plt.rc_context({"font.size": FONT_SIZE, "font.family": "DejaVu Sans"}):
        figure, axes = plt.subplots(len(models), 1, figsize=(7, 1.9 * len(models) + 0.4), sharex=True,
                                    squeeze=False, layout="constrained")
        for ax, model in zip(axes[:, 0], models):
            for offset, (label, colour) in zip((-0.17, 0.17), ((0, "tab:blue"), (1, "tab:red"))):
                rows = table[(table["model"] == model) & (table["class"] == CLASS_NAMES[label])]
                rows = rows.set_index(["word", "position", "phone"]).reindex(sentence_order)
                ax.errorbar(x + offset, rows["mean_relevance"],
                            yerr=[rows["mean_relevance"] - rows["ci_low"], rows["ci_high"] - rows["mean_relevance"]],
                            fmt="o", ms=2.5, lw=0.8, color=colour, label=CLASS_NAMES[label])
            ax.axhline(1.0, color="0.4", lw=0.6, ls="--")
            ax.ticklabel_format(axis="y", useOffset=False)
            ax.set_ylabel("relevance per frame\n(1 = recording mean)")
            ax.set_title(model)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        bottom = axes[-1, 0]
        bottom.set_xticks(x, [phone for _, _, phone in sentence_order])
        for tick, key in zip(bottom.get_xticklabels(), sentence_order):
            if is_study_phone(*key, sentence_order):
                tick.set_fontweight("bold")
        words = [word for word, _, _ in sentence_order]
        for start, word in enumerate(words):
            if start == 0 or words[start - 1] != word:  # centred under the word's phones
                end = start + next((i for i, w in enumerate(words[start:]) if w != word), len(words) - start)
                bottom.annotate(word, ((start + end - 1) / 2, 0), xycoords=("data", "axes fraction"), xytext=(0, -20),
                                textcoords="offset points", ha="center", va="top", style="italic")
        figure.supxlabel("phone (bold: the study's /ɔ/ and /e s i n/) and word")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi)
        plt.close(figure)


def plot_spread(per_recording, pair, table, path, dpi=200):
    """Per measure (spread and padding share): each recording's value under both models,
    joined by a line; the title gives the speaker-level comparison."""
    labels = {"entropy": "normalised entropy", "area_50": "area holding 50 %", "area_80": "area holding 80 %",
              "padding_share": "share on padding (left out)"}
    with plt.rc_context({"font.size": FONT_SIZE, "font.family": "DejaVu Sans"}):
        figure, axes = plt.subplots(1, len(MAP_MEASURES), figsize=(8.5, 2.8), layout="constrained")
        for ax, measure in zip(axes, MAP_MEASURES):
            wide = per_recording.pivot(index="session_id", columns="model", values=measure)[list(pair)].dropna()
            for _, values in wide.iterrows():
                ax.plot([0, 1], values.to_numpy(), color="0.6", lw=0.5, alpha=0.6)
            ax.boxplot([wide[pair[0]], wide[pair[1]]], positions=[0, 1], widths=0.35, showfliers=False)
            ax.set_xticks([0, 1], pair)
            ax.ticklabel_format(axis="y", useOffset=False)
            ax.set_ylabel(labels[measure])
            comparison = table[(table["measure"] == measure) & (table["unit"] == "speaker")].iloc[0]
            ax.set_title(f"{comparison['n']:.0f} speakers: p = {comparison['p_value']:.2g}\n"
                         f"d_z = {comparison['d_z']:.2f} [{comparison['d_z_lo']:.2f}, {comparison['d_z_hi']:.2f}]")
        figure.suptitle("Spread of the relevance maps (lower = more concentrated) and their mass on padding")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi)
        plt.close(figure)


def write_phones_figure(table_path, models, figure_path, dpi=200):
    """The phone figure (`plot_phones`) of a table written by `write_phone_relevance`."""
    table = read_phone_table(table_path)
    plot_phones(table, models, table_sentence_order(table), figure_path, dpi)


def write_spread_figure(table_path, recordings_path, pair, figure_path, dpi=200):
    """The spread figure (`plot_spread`) of the files written by `write_spread`."""
    table = pd.read_csv(table_path, sep="\t")
    plot_spread(pd.read_parquet(recordings_path), pair, table, figure_path, dpi)


def plot_energy(per_recording, path, dpi=200):
    """Per model, each recording's correlation of relevance with power."""
    models = list(dict.fromkeys(per_recording["model"]))
    with plt.rc_context({"font.size": FONT_SIZE, "font.family": "DejaVu Sans"}):
        figure, axes = plt.subplots(1, 2, figsize=(7, 2.4), layout="constrained")
        rng = np.random.default_rng(0)  # horizontal jitter only
        for index, model in enumerate(models):
            rows = per_recording[per_recording["model"] == model]
            for ax, column in zip(axes, ("spearman", "top_overlap")):
                ax.scatter(index + rng.uniform(-0.15, 0.15, len(rows)), rows[column], s=5, alpha=0.6)
                ax.plot([index - 0.25, index + 0.25], [rows[column].median()] * 2, color="k", lw=1.2)
        axes[0].axhline(0, color="0.4", lw=0.6, ls="--")
        axes[0].set_ylabel("Spearman ρ (relevance, power)")
        axes[1].axhline(TOP_SHARE, color="0.4", lw=0.6, ls="--")
        axes[1].set_ylabel(f"top {TOP_SHARE:.0%} relevant cells\nthat are top {TOP_SHARE:.0%} power")
        for ax in axes:
            ax.set_xticks(range(len(models)), models)
        figure.suptitle("Relevance against spectral power, per recording (line: median; dashed: none / chance)")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi)
        plt.close(figure)


def write_energy_figure(recordings_path, figure_path, dpi=200):
    """The energy figure (`plot_energy`) of the per-recording values written by `write_energy`."""
    plot_energy(pd.read_parquet(recordings_path), figure_path, dpi)
