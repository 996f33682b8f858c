"""Linear probes on synthetic embeddings with a known structure: held-out sessions only,
speaker grouping, speaker-level permutations, the batched fit against scikit-learn, the 2-D
maps for tiny n, and input checks."""
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from svd_explain.representation_figures import write_probes_figure, write_representation_figure
from svd_explain.representations import (
    embedding_maps,
    fit_logistic_batch,
    load_embeddings,
    probe,
    probe_table,
    speaker_permutations,
    tsne_perplexity,
    write_probes,
)


def make_meta(n_speakers=180, sessions_per_speaker=1, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for speaker in range(n_speakers):
        label = int(rng.integers(0, 2))
        sex = "male" if rng.random() < 0.5 else "female"
        category = ("organic" if rng.random() < 0.5 else "non-organic") if label else "healthy"
        split = ["train", "dev", "test"][speaker % 3]
        for visit in range(sessions_per_speaker):
            rows.append({"session_id": speaker * 10 + visit, "speaker_id": speaker, "split": split,
                         "label": label, "sex": sex, "category": category})
    return pd.DataFrame(rows)


def embeddings_encoding(meta, column, value, seed=0, dims=16):
    """Noise embeddings, plus a shift along one direction where meta[column] == value."""
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(len(meta), dims))
    embeddings[:, 0] += 4.0 * (meta[column] == value).to_numpy()
    return embeddings


def probes_by_target(embeddings, meta, permutations=20):
    table = probe_table({"m": (embeddings, meta)}, folds=5, permutations=permutations, seed=1)
    return table.set_index("target")


@pytest.fixture(scope="module")
def meta():
    return make_meta()


def test_sex_separable_pathology_not(meta):
    rows = probes_by_target(embeddings_encoding(meta, "sex", "male"), meta)
    assert rows.loc["sex", "balanced_accuracy"] > 0.9 and rows.loc["sex", "p_value"] < 0.06
    assert rows.loc["pathology", "balanced_accuracy"] < 0.7
    assert rows.loc["pathology", "balanced_accuracy"] < rows.loc["pathology", "chance_q95"] + 0.1
    for target in ("sex", "pathology"):
        assert abs(rows.loc[target, "chance_mean"] - 0.5) < 0.08
    assert (rows["sessions"] == "dev+test").all() and (rows["folds"] == 5).all()


def test_pathology_separable_sex_not(meta):
    rows = probes_by_target(embeddings_encoding(meta, "label", 1), meta)
    assert rows.loc["pathology", "balanced_accuracy"] > 0.9 and rows.loc["pathology", "p_value"] < 0.06
    assert rows.loc["sex", "balanced_accuracy"] < 0.7
    # Organic vs non-organic is probed among pathological sessions only; both share the shift.
    held_out = meta["split"].isin(["dev", "test"])
    assert rows.loc["organic_vs_nonorganic", "n"] == (held_out & (meta["label"] == 1)).sum()
    assert rows.loc["organic_vs_nonorganic", "balanced_accuracy"] < 0.7


def test_organic_separable(meta):
    rows = probes_by_target(embeddings_encoding(meta, "category", "organic"), meta)
    assert rows.loc["organic_vs_nonorganic", "balanced_accuracy"] > 0.9


def test_probes_are_grouped_by_speaker():
    """Embeddings that identify the speaker, labels random per speaker: a probe that scored
    sessions of training speakers would look good; grouped by speaker it is at chance."""
    meta = make_meta(40, sessions_per_speaker=6, seed=2)
    rng = np.random.default_rng(3)
    speaker_vectors = rng.normal(size=(40, 30))
    embeddings = speaker_vectors[meta["speaker_id"]] + 0.05 * rng.normal(size=(len(meta), 30))
    target = meta["label"].to_numpy()
    grouped = probe(embeddings, target, meta["speaker_id"], folds=5, permutations=0, seed=0)
    assert grouped["balanced_accuracy"] < 0.7
    ungrouped = probe(embeddings, target, np.arange(len(meta)), folds=5, permutations=0, seed=0)
    assert ungrouped["balanced_accuracy"] > 0.9


def test_probe_with_too_few_speakers_reports_why():
    result = probe(np.random.default_rng(0).normal(size=(6, 3)), np.array([1, 0, 0, 0, 0, 0]),
                   np.arange(6), folds=5, permutations=5)
    assert np.isnan(result["balanced_accuracy"]) and "too few speakers" in result["note"]
    result = probe(np.random.default_rng(0).normal(size=(8, 3)), np.array([1, 1, 1, 0, 0, 0, 0, 0]),
                   np.arange(8), folds=5, permutations=3)
    assert result["folds"] == 3 and "3 folds" in result["note"] and np.isfinite(result["balanced_accuracy"])


def test_tsne_perplexity_adapts_to_tiny_n():
    assert tsne_perplexity(1000, 30) == 30
    assert tsne_perplexity(31, 30) == 10
    assert tsne_perplexity(3, 30) == 1
    maps = embedding_maps(np.random.default_rng(0).normal(size=(5, 8)), perplexity_max=30, seed=0)
    assert maps["PCA"].shape == (5, 2) and maps["t-SNE"].shape == (5, 2)
    with pytest.raises(ValueError, match="at least 3"):
        embedding_maps(np.zeros((2, 4)))


def write_embeddings(path, meta, embeddings):
    pd.DataFrame({
        "session_id": meta["session_id"], "split": meta["split"],
        "embedding": [row.astype(np.float32) for row in embeddings],
    }).to_parquet(path)


@pytest.mark.parametrize("n_models", [1, 3])
def test_files_for_any_number_of_models(tmp_path, meta, n_models):
    meta.to_parquet(tmp_path / "split.parquet")
    paths = {}
    for i in range(n_models):
        paths[f"model_{i}"] = tmp_path / f"model_{i}.parquet"
        write_embeddings(paths[f"model_{i}"], meta, embeddings_encoding(meta, "sex", "male", seed=i))
    table = write_probes(paths, tmp_path / "split.parquet", tmp_path / "p" / "probes.tsv", folds=3, permutations=2, seed=0)
    write_probes_figure(tmp_path / "p" / "probes.tsv", tmp_path / "p" / "probes.png", dpi=60)
    written = pd.read_csv(tmp_path / "p" / "probes.tsv", sep="\t")
    assert len(written) == len(table) == 3 * n_models
    assert written["model"].unique().tolist() == list(paths)
    assert (tmp_path / "p" / "probes.png").stat().st_size > 1000
    write_representation_figure(paths["model_0"], tmp_path / "split.parquet", tmp_path / "f" / "m.png", "model_0",
                                30, 0, dpi=60)
    assert (tmp_path / "f" / "m.png").stat().st_size > 1000


def test_bad_embeddings_raise(tmp_path, meta):
    good = embeddings_encoding(meta, "sex", "male")
    cases = {
        "have no embedding": (meta.iloc[1:], good[1:]),
        "NaN or infinite": (meta, np.where(np.arange(len(meta))[:, None] == 3, np.nan, good)),
    }
    for message, (rows, values) in cases.items():
        write_embeddings(tmp_path / "e.parquet", rows, values)
        with pytest.raises(ValueError, match=message):
            load_embeddings(tmp_path / "e.parquet", meta)
    write_embeddings(tmp_path / "e.parquet", meta.assign(split="test"), good)
    with pytest.raises(ValueError, match="split disagrees"):
        load_embeddings(tmp_path / "e.parquet", meta)
    ragged = pd.DataFrame({"session_id": meta["session_id"], "split": meta["split"],
                           "embedding": [np.zeros(4 + (i == 0), np.float32) for i in range(len(meta))]})
    ragged.to_parquet(tmp_path / "e.parquet")
    with pytest.raises(ValueError, match="differ in size"):
        load_embeddings(tmp_path / "e.parquet", meta)
    write_embeddings(tmp_path / "e.parquet", meta.assign(session_id=meta["session_id"] + 10_000), good)
    with pytest.raises(ValueError, match="not in the split table"):
        load_embeddings(tmp_path / "e.parquet", meta)


def test_probes_never_score_a_session_the_model_trained_on():
    """Train sessions whose embeddings give the label away, held-out sessions without any
    signal: a probe that used train sessions would look perfect; these stay at chance."""
    meta = make_meta(150, seed=5)
    rng = np.random.default_rng(6)
    embeddings = rng.normal(size=(len(meta), 8))
    train = (meta["split"] == "train").to_numpy()
    embeddings[train, 0] += 6.0 * meta.loc[train, "label"].to_numpy()
    rows = probe_table({"m": (embeddings, meta)}, folds=5, permutations=20, seed=0).set_index("target")
    assert rows.loc["pathology", "n"] == (~train).sum() == 100
    assert rows.loc["pathology", "balanced_accuracy"] < 0.7 and rows.loc["pathology", "p_value"] > 0.05
    # The same embeddings probed on every split (a third of them train) would have found the
    # planted signal.
    everything = probe_table({"m": (embeddings, meta)}, folds=5, permutations=0, seed=0,
                             splits=("train", "dev", "test")).set_index("target")
    assert everything.loc["pathology", "balanced_accuracy"] > rows.loc["pathology", "balanced_accuracy"] + 0.1


def test_speaker_permutations_keep_each_speakers_sessions_together():
    """Speakers with 1, 2 or 3 sessions, some with labels that change between sessions: every
    permuted vector hands each speaker the whole label sequence of one speaker with as many
    sessions, so the speakers' sequences are the same multiset."""
    sessions = [1, 2, 3, 1, 2, 3, 2, 1, 3, 1, 2, 1]
    speakers = np.repeat(np.arange(len(sessions)) * 7 + 3, sessions)
    rng = np.random.default_rng(0)
    target = rng.integers(0, 2, speakers.size)
    target[speakers == speakers[2]] = [0, 1]  # a speaker whose status changed
    order = rng.permutation(speakers.size)  # sessions in no particular order
    speakers, target = speakers[order], target[order]
    permuted = speaker_permutations(target, speakers, 200, np.random.default_rng(1))
    assert permuted.shape == (200, speakers.size)

    def sequences(labels):
        return sorted((int((speakers == s).sum()), tuple(labels[speakers == s])) for s in np.unique(speakers))

    for row in permuted:
        assert sequences(row) == sequences(target)
    constant = [s for s in np.unique(speakers) if len(set(target[speakers == s])) == 1]
    moved = {tuple(row[speakers == s]) for row in permuted for s in np.unique(speakers)}
    assert len(moved) > 4  # sequences really move between speakers
    assert not (permuted == target).all(axis=1).all()
    # With one session per speaker it is an ordinary permutation of the labels.
    single = speaker_permutations(np.arange(10), np.arange(10) + 50, 5, np.random.default_rng(2))
    assert all(sorted(row) == list(range(10)) for row in single) and constant


def test_batched_fit_equals_scikit_learn():
    rng = np.random.default_rng(3)
    for n, d in ((40, 64), (150, 20)):
        features = rng.normal(size=(n, d))
        labels = rng.integers(0, 2, size=(n, 5))
        labels[:, 0] = (features[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
        coefficients, intercepts = fit_logistic_batch(features, labels)
        for column in range(5):
            reference = LogisticRegression(C=1.0, class_weight="balanced", max_iter=10000, tol=1e-10)
            reference.fit(features, labels[:, column])
            np.testing.assert_allclose(coefficients[:, column], reference.coef_[0], atol=1e-4)
            assert intercepts[column] == pytest.approx(reference.intercept_[0], abs=1e-4)
    one_class = fit_logistic_batch(features, np.ones((n, 1)))
    assert (features @ one_class[0] + one_class[1] > 0).all()


def test_probe_score_equals_scikit_learns_cross_validation():
    meta = make_meta(90, seed=7)
    embeddings = embeddings_encoding(meta, "sex", "male", seed=8, dims=6)
    embeddings[:, 1] += 0.8 * meta["label"].to_numpy()
    target, speakers = meta["label"].to_numpy(), meta["speaker_id"].to_numpy()
    result = probe(embeddings, target, speakers, folds=4, permutations=0, seed=9)
    folds = StratifiedGroupKFold(n_splits=4, shuffle=True, random_state=9).split(embeddings, target, speakers)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000))
    reference = cross_val_score(pipeline, embeddings, target, cv=list(folds), scoring="balanced_accuracy")
    assert result["balanced_accuracy"] == pytest.approx(reference.mean(), abs=1e-9)
