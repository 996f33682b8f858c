"""The figures of the representations: PCA and t-SNE maps of the pooled embeddings, and the
probe table (representations.py) as bars against their permutation chance levels."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from svd_explain.representations import embedding_maps, load_embeddings  # noqa: E402

COLOURS = {
    "sex": {"female": "tab:red", "male": "tab:blue"},
    "category": {"healthy": "tab:green", "organic": "tab:purple", "non-organic": "tab:orange"},
}


def plot_maps(maps, meta, path, title, dpi=200):
    """Panels: one row per map (PCA, t-SNE), one column per colouring (sex, category)."""
    fig, axes = plt.subplots(len(maps), len(COLOURS), figsize=(4.2 * len(COLOURS), 3.8 * len(maps)), squeeze=False)
    # One scatter in a fixed random order, so that no group is drawn on top of the others.
    order = np.random.default_rng(0).permutation(len(meta))
    for row, (method, points) in zip(axes, maps.items()):
        for ax, (column, colours) in zip(row, COLOURS.items()):
            values = meta[column].to_numpy()[order]
            ax.scatter(points[order, 0], points[order, 1], s=8, c=[colours[v] for v in values], alpha=0.7, lw=0)
            handles = [
                Line2D([], [], ls="", marker="o", ms=4, color=colour, label=f"{value} ({(values == value).sum()})")
                for value, colour in colours.items()
            ]
            ax.set_title(f"{method}, coloured by {column}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.legend(handles=handles, fontsize=7, loc="best")
    fig.suptitle(f"{title}: pooled embeddings, all splits (n = {len(meta)})", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def write_representation_figure(embeddings_parquet, split_parquet, figure_png, model, perplexity_max, seed, dpi=200):
    """PCA and t-SNE maps of one model's embeddings, coloured by sex and by category."""
    embeddings, meta = load_embeddings(embeddings_parquet, pd.read_parquet(split_parquet))
    maps = embedding_maps(embeddings, perplexity_max, seed)
    plot_maps(maps, meta, figure_png, model, dpi)



def plot_probes(table, path, dpi=200):
    """Balanced accuracy per target (groups) and model (bars), ± fold standard deviation, with
    each probe's permutation chance level drawn over its bar as a hatched band (mean to 95th
    percentile)."""
    targets = list(dict.fromkeys(table["target"]))
    models = list(dict.fromkeys(table["model"]))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(3.8 + 1.9 * len(targets), 3.8))
    for i, model in enumerate(models):
        rows = table.loc[table["model"] == model].set_index("target").reindex(targets)
        x = np.arange(len(targets)) + (i - (len(models) - 1) / 2) * width
        ax.bar(x, rows["balanced_accuracy"], width * 0.9, yerr=rows["balanced_accuracy_std"], capsize=3,
               error_kw={"lw": 1}, label=model)
        ax.bar(x, rows["chance_q95"] - rows["chance_mean"], width * 0.9, bottom=rows["chance_mean"],
               color="white", alpha=0.6, edgecolor="0.2", hatch="////", lw=0.5,
               label="permutation chance (mean to 95th pct.)" if i == 0 else None)
    ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
    ax.set_xticks(np.arange(len(targets)), [t.replace("_", " ") for t in targets])
    sessions = " + ".join(dict.fromkeys(table["sessions"].str.replace("+", " + ")))
    ax.set(ylabel="balanced accuracy (speaker-grouped CV)", ylim=(0, 1.05),
           title=f"Linear probes on pooled embeddings ({sessions} sessions), ± SD over folds")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)



def write_probes_figure(probes_tsv, probes_png, dpi=200):
    """The figure of a probe table written by `write_probes`."""
    plot_probes(pd.read_csv(probes_tsv, sep="\t"), probes_png, dpi)
