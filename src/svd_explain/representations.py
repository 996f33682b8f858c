"""What the pooled AST representations encode: 2-D maps (PCA, t-SNE) coloured by sex and by
category, and speaker-grouped, cross-validated linear probes with a label-permutation chance
level, for the study's claim that the frozen model separates speakers by sex more than by
pathology, that fine-tuning reverses this, and that neither separates organic from non-organic.

Maps and probes use the embeddings of every split (train, dev and test together): the probes
ask what the representation encodes, not how a classifier generalises. For a fine-tuned model
the train sessions shaped the representation, which favours the pathology probe there."""
import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

COLOURS = {
    "sex": {"female": "tab:red", "male": "tab:blue"},
    "category": {"healthy": "tab:green", "organic": "tab:purple", "non-organic": "tab:orange"},
}
PROBE_COLUMNS = [
    "model", "target", "sessions", "n", "n_speakers", "folds", "balanced_accuracy", "balanced_accuracy_std",
    "chance_mean", "chance_q95", "p_value", "permutations", "note",
]


def load_embeddings(embeddings_parquet, split):
    """(embeddings as an n × d float64 array, the matching rows of the split table).

    Every split session needs exactly one finite embedding of one common size, in the same
    split as the split table says; anything else raises ValueError."""
    table = pd.read_parquet(embeddings_parquet)
    missing = [c for c in ("session_id", "split", "embedding") if c not in table.columns]
    if missing:
        raise ValueError(f"{embeddings_parquet}: lacks column(s) {missing}")
    if table["session_id"].duplicated().any():
        raise ValueError(f"{embeddings_parquet}: sessions with two embeddings, e.g. {table.loc[table['session_id'].duplicated(), 'session_id'].tolist()[:5]}")
    joined = table[["session_id", "split", "embedding"]].merge(
        split, on="session_id", how="outer", suffixes=("", "_split"), indicator=True
    )
    for side, what in (("left_only", "are not in the split table"), ("right_only", "of the split have no embedding")):
        odd = joined.loc[joined["_merge"] == side, "session_id"].tolist()
        if odd:
            raise ValueError(f"{embeddings_parquet}: {len(odd)} session(s) {what}, e.g. {odd[:5]}")
    differs = joined["split"] != joined["split_split"]
    if differs.any():
        raise ValueError(f"{embeddings_parquet}: split disagrees with the split table for session {joined.loc[differs, 'session_id'].iloc[0]}")
    joined = joined.sort_values("session_id").reset_index(drop=True)
    sizes = joined["embedding"].map(len)
    if sizes.nunique() != 1 or sizes.iloc[0] == 0:
        raise ValueError(f"{embeddings_parquet}: embeddings differ in size or are empty ({sorted(set(sizes))[:5]})")
    embeddings = np.stack(joined["embedding"].map(np.asarray).to_list()).astype(np.float64)
    if not np.isfinite(embeddings).all():
        bad = joined.loc[~np.isfinite(embeddings).all(axis=1), "session_id"].tolist()
        raise ValueError(f"{embeddings_parquet}: NaN or infinite embedding values for session(s) {bad[:5]}")
    return embeddings, joined[split.columns.tolist()]


def tsne_perplexity(n, maximum):
    """The t-SNE perplexity for n points: at most `maximum`, and at most (n − 1) / 3, the
    usual bound below which each point still has about 3 × perplexity neighbours."""
    return float(max(1.0, min(maximum, (n - 1) / 3)))


def embedding_maps(embeddings, perplexity_max=30, seed=13):
    """{"PCA": n × 2, "t-SNE": n × 2} of the standardised embeddings (t-SNE initialised from PCA)."""
    n = len(embeddings)
    if n < 3:
        raise ValueError(f"{n} embedding(s): a 2-D map needs at least 3")
    standardised = StandardScaler().fit_transform(embeddings)
    pca = PCA(n_components=2, random_state=seed).fit_transform(standardised)
    tsne = TSNE(
        n_components=2, perplexity=tsne_perplexity(n, perplexity_max), init="pca", random_state=seed,
    ).fit_transform(standardised)
    return {"PCA": pca, "t-SNE": tsne}


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


def probe_targets(meta):
    """{target: (session mask, 0/1 labels of those sessions)}: sex (male = 1) and pathology
    (pathological = 1) over all sessions; organic vs non-organic (organic = 1) over the
    pathological ones."""
    pathological = (meta["label"] == 1).to_numpy()
    return {
        "sex": (np.ones(len(meta), bool), (meta["sex"] == "male").to_numpy().astype(int)),
        "pathology": (np.ones(len(meta), bool), meta["label"].to_numpy().astype(int)),
        "organic_vs_nonorganic": (pathological, (meta.loc[pathological, "category"] == "organic").to_numpy().astype(int)),
    }


def _probe_model():
    return make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=2000))


def probe(embeddings, target, speakers, folds=5, permutations=100, seed=13):
    """Speaker-grouped cross-validated balanced accuracy of a standardised logistic regression
    predicting `target` (0/1) from `embeddings`, and its chance level.

    Folds: StratifiedGroupKFold by speaker (no speaker in both the training and the scoring
    part), at most `folds`, fewer when a class has fewer speakers. Chance: the same folds
    with the session labels permuted `permutations` times; p_value is the share of
    permutations scoring at least as well, counting the real labels as one.

    Returns a dict of PROBE_COLUMNS' numbers (NaN, with a note, where a class has fewer than
    two speakers)."""
    speakers = np.asarray(speakers)
    target = np.asarray(target)
    speakers_per_class = [len(np.unique(speakers[target == c])) for c in (0, 1)]
    k = min(folds, *speakers_per_class)
    result = {"n": len(target), "n_speakers": len(np.unique(speakers)), "folds": k, "permutations": permutations}
    if k < 2:
        nan = float("nan")
        return {**result, "balanced_accuracy": nan, "balanced_accuracy_std": nan, "chance_mean": nan,
                "chance_q95": nan, "p_value": nan,
                "note": f"too few speakers per class for a probe ({speakers_per_class[0]} vs {speakers_per_class[1]})"}
    cv = list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed).split(embeddings, target, speakers))
    rng = np.random.default_rng(seed)
    # Many small fits: BLAS threads only add overhead (10× slower on 2 busy cores).
    with threadpool_limits(limits=1, user_api="blas"):
        scores = cross_val_score(_probe_model(), embeddings, target, cv=cv, scoring="balanced_accuracy")
        chance = np.array([
            cross_val_score(_probe_model(), embeddings, rng.permutation(target), cv=cv, scoring="balanced_accuracy").mean()
            for _ in range(permutations)
        ])
    return {
        **result,
        "balanced_accuracy": float(scores.mean()),
        "balanced_accuracy_std": float(scores.std(ddof=1)),
        "chance_mean": float(chance.mean()) if permutations else float("nan"),
        "chance_q95": float(np.quantile(chance, 0.95)) if permutations else float("nan"),
        "p_value": float((1 + (chance >= scores.mean()).sum()) / (1 + permutations)),
        "note": "" if k == folds else f"{k} folds: a class has only {min(speakers_per_class)} speakers",
    }


def probe_table(models, folds=5, permutations=100, seed=13):
    """One row per model and probe target; `models` is {name: (embeddings, split rows)}."""
    rows = []
    for name, (embeddings, meta) in models.items():
        for target, (mask, labels) in probe_targets(meta).items():
            scores = probe(embeddings[mask], labels, meta.loc[mask, "speaker_id"].to_numpy(), folds, permutations, seed)
            rows.append({"model": name, "target": target, "sessions": "all splits", **scores})
            log.info("%s %s: balanced accuracy %.3f ± %.3f (chance %.3f, p %.3f)", name, target,
                     scores["balanced_accuracy"], scores["balanced_accuracy_std"], scores["chance_mean"], scores["p_value"])
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


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
    ax.set(ylabel="balanced accuracy (speaker-grouped CV)", ylim=(0, 1.05),
           title="Linear probes on pooled embeddings (all splits), ± SD over folds")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def write_probes(model_embeddings, split_parquet, probes_tsv, folds, permutations, seed):
    """Probe every model's embeddings (`model_embeddings`: {name: Parquet}) and write the table."""
    split = pd.read_parquet(split_parquet)
    models = {name: load_embeddings(path, split) for name, path in model_embeddings.items()}
    table = probe_table(models, folds, permutations, seed)
    Path(probes_tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(probes_tsv, sep="\t", index=False, float_format="%.4f")
    return table


def write_probes_figure(probes_tsv, probes_png, dpi=200):
    """The figure of a probe table written by `write_probes`."""
    plot_probes(pd.read_csv(probes_tsv, sep="\t"), probes_png, dpi)
