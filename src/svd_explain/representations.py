"""What the pooled AST representations encode: 2-D maps (PCA, t-SNE), and linear probes with a
speaker-level permutation chance level, for the study's claim that the frozen model separates
speakers by sex more than by pathology, that fine-tuning reverses this, and that neither
separates organic from non-organic.

Probes are fitted and scored only on sessions no model trained on (PROBE_SPLITS: dev and test):
a fine-tuned model's train sessions shaped its representation, which would favour exactly the
pathology probe the comparison is about. Within them, speaker-grouped cross-validation: no
speaker is in both the fitting and the scoring part of a fold. The chance level permutes the
labels at the speaker level: whole speakers' label sequences are exchanged among speakers with
the same number of sessions, so each speaker's sessions stay together (with one session per
speaker, an ordinary permutation).

The probe is a standardised, L2-regularised logistic regression with balanced class weights
(scikit-learn's LogisticRegression(C=1, class_weight="balanced") on StandardScaler'd features),
fitted for the real labels and all permutations at once (`fit_logistic_batch`: batched Newton
steps over every label column of a fold), which a test checks against scikit-learn.

The 2-D maps show every split (they describe the representation; nothing is scored on them)."""
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.preprocessing import StandardScaler

log = logging.getLogger(__name__)

PROBE_COLUMNS = [
    "model", "target", "sessions", "n", "n_speakers", "folds", "balanced_accuracy", "balanced_accuracy_std",
    "chance_mean", "chance_q95", "p_value", "permutations", "note",
]
# The splits the probes use: the sessions no model trained on.
PROBE_SPLITS = ("dev", "test")
PROBE_C = 1.0


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


def speaker_permutations(target, speakers, permutations, rng):
    """(permutations × sessions) label vectors: `target` permuted at the speaker level (whole
    speakers' label sequences exchanged among speakers with the same number of sessions, each
    in session order), so a speaker's sessions move together."""
    target = np.asarray(target)
    _, speaker_of_session, counts = np.unique(np.asarray(speakers), return_inverse=True, return_counts=True)
    result = np.empty((permutations, target.size), dtype=target.dtype)
    by_speaker = np.argsort(speaker_of_session, kind="stable")  # sessions grouped by speaker, in order
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    for size in np.unique(counts):
        block = np.flatnonzero(counts == size)  # the speakers with `size` sessions
        sessions = by_speaker[starts[block][:, None] + np.arange(size)]  # (speakers, size)
        order = rng.permuted(np.tile(np.arange(block.size), (permutations, 1)), axis=1)
        result[:, sessions] = target[sessions][order]
    return result


def _balanced_weights(labels):
    """scikit-learn's class_weight="balanced" per column of 0/1 labels (sessions × columns)."""
    n = labels.shape[0]
    positives = labels.sum(axis=0)
    with np.errstate(divide="ignore"):
        weight_1 = np.where(positives > 0, n / (2 * positives), 0.0)
        weight_0 = np.where(positives < n, n / (2 * (n - positives)), 0.0)
    return np.where(labels == 1, weight_1, weight_0)


def fit_logistic_batch(features, labels, c=PROBE_C, tol=1e-7, max_iter=100):
    """L2-regularised logistic regressions with balanced class weights, one per column of
    `labels` (sessions × columns, 0/1), all on the same `features` (sessions × d): (coefficients
    d × columns, intercepts (columns,)). Each column minimises scikit-learn's objective
    C · Σ_i w_i · log-loss_i + ½ ‖β‖² (intercept unpenalised).

    Solved by Newton's method for all columns at once, in the coordinates of the features'
    thin SVD: the loss sees β only through Xβ and the penalty is smallest with β in X's row
    space, so β = V γ with γ of size rank(X) ≤ min(n, d) loses nothing and keeps each column's
    Hessian small. A column with one class only gets β = 0 and an intercept that predicts it."""
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    n, d = features.shape
    u, singular, vt = np.linalg.svd(features, full_matrices=False)
    keep = singular > (singular.max() if singular.size else 0.0) * 1e-10
    design = np.hstack([u[:, keep] * singular[keep], np.ones((n, 1))])
    rank = int(keep.sum())
    penalised = np.r_[np.ones(rank), 0.0]
    weights = _balanced_weights(labels) * c
    positives = labels.sum(axis=0)
    fitted = (positives > 0) & (positives < n)
    y, w = labels[:, fitted], weights[:, fitted]
    params = np.zeros((rank + 1, y.shape[1]))

    def objective(values):
        margins = design @ values
        return (w * (np.logaddexp(0.0, margins) - y * margins)).sum(axis=0) + 0.5 * np.sum(values[:rank] ** 2, axis=0)

    value = objective(params)
    for _ in range(max_iter):
        probability = expit(design @ params)
        gradient = design.T @ (w * (probability - y)) + penalised[:, None] * params
        if not gradient.size or np.abs(gradient).max() < tol:
            break
        curvature = (w * probability * (1 - probability)).T  # columns × sessions
        hessian = np.matmul(design.T[None] * curvature[:, None, :], design) + np.diag(penalised)[None]
        step = np.linalg.solve(hessian, gradient.T[..., None])[..., 0].T
        scale = np.ones(step.shape[1])
        for _ in range(40):  # backtracking, column by column
            candidate = objective(params - scale * step)
            worse = candidate > value + 1e-10 * np.abs(value)
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
        params = params - scale * step
        value = objective(params)
    coefficients = np.zeros((d, labels.shape[1]))
    intercepts = np.where(positives > 0, 1e3, -1e3)  # one-class columns: always that class
    coefficients[:, fitted] = vt[keep].T @ params[:rank]
    intercepts[fitted] = params[rank]
    return coefficients, intercepts


def _balanced_accuracy(labels, predictions):
    """Balanced accuracy per column, over the classes present (as scikit-learn computes it)."""
    recalls = []
    for cls in (0, 1):
        of_class = labels == cls
        count = of_class.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls.append(np.where(count > 0, (of_class & (predictions == cls)).sum(axis=0) / count, np.nan))
    return np.nanmean(np.stack(recalls), axis=0)


def probe(embeddings, target, speakers, folds=5, permutations=100, seed=13):
    """Speaker-grouped cross-validated balanced accuracy of the probe (module docstring)
    predicting `target` (0/1) from `embeddings`, and its chance level.

    Folds: StratifiedGroupKFold by speaker, at most `folds`, fewer when a class has fewer
    speakers. Chance: the same folds with the labels permuted at the speaker level
    `permutations` times; p_value is the share of permutations scoring at least as well,
    counting the real labels as one.

    Returns a dict of PROBE_COLUMNS' numbers (NaN, with a note, where a class has fewer than
    two speakers)."""
    speakers = np.asarray(speakers)
    target = np.asarray(target).astype(int)
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
    labels = np.column_stack([target, speaker_permutations(target, speakers, permutations, rng).T])
    scores = np.empty((k, labels.shape[1]))
    for fold, (fit_rows, score_rows) in enumerate(cv):
        scaler = StandardScaler().fit(embeddings[fit_rows])
        coefficients, intercepts = fit_logistic_batch(scaler.transform(embeddings[fit_rows]), labels[fit_rows])
        decisions = scaler.transform(embeddings[score_rows]) @ coefficients + intercepts
        scores[fold] = _balanced_accuracy(labels[score_rows], (decisions > 0).astype(int))
    real, chance = scores[:, 0], scores[:, 1:].mean(axis=0)
    return {
        **result,
        "balanced_accuracy": float(real.mean()),
        "balanced_accuracy_std": float(real.std(ddof=1)),
        "chance_mean": float(chance.mean()) if permutations else float("nan"),
        "chance_q95": float(np.quantile(chance, 0.95)) if permutations else float("nan"),
        "p_value": float((1 + (chance >= real.mean()).sum()) / (1 + permutations)),
        "note": "" if k == folds else f"{k} folds: a class has only {min(speakers_per_class)} speakers",
    }


def probe_table(models, folds=5, permutations=100, seed=13, splits=PROBE_SPLITS):
    """One row per model and probe target; `models` is {name: (embeddings, split rows)}; only
    the sessions of `splits` are used (`sessions` says which)."""
    rows = []
    for name, (embeddings, meta) in models.items():
        held_out = meta["split"].isin(splits).to_numpy()
        embeddings, meta = embeddings[held_out], meta.loc[held_out].reset_index(drop=True)
        for target, (mask, labels) in probe_targets(meta).items():
            scores = probe(embeddings[mask], labels, meta.loc[mask, "speaker_id"].to_numpy(), folds, permutations, seed)
            rows.append({"model": name, "target": target, "sessions": "+".join(splits), **scores})
            log.info("%s %s: balanced accuracy %.3f ± %.3f (chance %.3f, p %.3f)", name, target,
                     scores["balanced_accuracy"], scores["balanced_accuracy_std"], scores["chance_mean"], scores["p_value"])
    return pd.DataFrame(rows, columns=PROBE_COLUMNS)


def write_probes(model_embeddings, split_parquet, probes_tsv, folds, permutations, seed):
    """Probe every model's embeddings (`model_embeddings`: {name: Parquet}) and write the table."""
    split = pd.read_parquet(split_parquet)
    models = {name: load_embeddings(path, split) for name, path in model_embeddings.items()}
    table = probe_table(models, folds, permutations, seed)
    Path(probes_tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(probes_tsv, sep="\t", index=False, float_format="%.4f")
    return table
