"""The checks of the relevance maps: localisation against a planted cue, deletion faithfulness,
randomisation sanity, phone occlusion effects."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from svd_explain.checks import deletion, localisation, phone_effects, randomisation

from test_rollout import tiny_model

torch.set_num_threads(1)


def test_a_map_on_the_cue_has_the_lift_of_its_concentration_and_auc_1():
    mask = localisation.cue_mask([(0.20, 0.40)], 100)
    assert mask.sum() == 20 and mask[19] and not mask[18]  # frame 19 is centred at 0.2025 s
    on_cue = np.where(mask, 1.0, 0.0)[None].repeat(4, axis=0)
    result = localisation.localisation(on_cue, mask)
    assert result == {"lift": pytest.approx(5.0), "auc": 1.0, "cue_share": 0.2}
    uniform = localisation.localisation(np.ones((4, 100)), mask)
    assert uniform["lift"] == pytest.approx(1.0) and uniform["auc"] == 0.5
    negative = localisation.localisation(-on_cue, mask)  # only "against" evidence: nothing to place
    assert np.isnan(negative["lift"])
    with pytest.raises(ValueError, match="frames"):
        localisation.localisation(on_cue[:, :50], mask)


class FrameModel(torch.nn.Module):
    """A 'model' whose log-odds are the mean input over frames 10-19: what a faithful map of it
    must point at."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(4.0))

    def forward(self, inputs):
        evidence = self.scale * inputs[:, 10:20].mean(dim=(1, 2))
        return SimpleNamespace(logits=torch.stack([-evidence / 2, evidence / 2], dim=1))


def test_deleting_what_the_model_uses_first_drops_its_probability_sooner():
    inputs = torch.ones(1, 50, 8)
    right = np.zeros((8, 40))
    right[:, 10:20] = 1.0
    wrong = np.zeros((8, 40))
    wrong[:, 25:35] = 1.0
    faithful, = deletion.deletion(FrameModel(), inputs, [right], [40], baseline=-1.0, seed=1)
    unfaithful, = deletion.deletion(FrameModel(), inputs, [wrong], [40], baseline=-1.0, seed=1)
    assert faithful["predicted"] == 1 and len(faithful["curve"]) == deletion.STEPS + 1
    assert faithful["curve"][0] == pytest.approx(torch.sigmoid(torch.tensor(4.0)).item())
    assert faithful["ratio"] < 0.8 < 1.0 < unfaithful["ratio"]
    assert faithful["random_auc"] == pytest.approx(unfaithful["random_auc"])  # same seeded orders


def test_deletion_follows_the_class_the_map_explains():
    """A recording the model calls healthy, whose frames 10-19 (what the model reads) are deleted
    first: followed as "pathological", P(pathological) falls sooner than by chance (ratio < 1);
    followed as the predicted class, P(healthy) rises instead (ratio > 1). The same curve is read
    for a different class."""
    from svd_explain.explain_maps import METHODS

    assert set(deletion.EXPLAINED_CLASS) == set(METHODS)
    inputs = torch.full((1, 50, 8), -0.5)  # evidence −2: healthy predicted
    relevance = np.zeros((8, 40))
    relevance[:, 10:20] = 1.0
    as_pathological, = deletion.deletion(FrameModel(), inputs, [relevance], [40], baseline=-2.0, seed=1,
                                         explained="pathological")
    as_predicted, = deletion.deletion(FrameModel(), inputs, [relevance], [40], baseline=-2.0, seed=1)
    assert as_pathological["predicted"] == 0 and as_pathological["explained_class"] == 1
    assert as_predicted["explained_class"] == 0
    assert as_pathological["ratio"] < 1.0 < as_predicted["ratio"]
    with pytest.raises(ValueError, match="explained must be"):
        deletion.deletion(FrameModel(), inputs, [relevance], [40], baseline=-2.0, explained="healthy")


def test_deletion_steps_remove_the_frames_in_order():
    stack = deletion.deletion_inputs(torch.zeros(6, 2), np.array([4, 1, 0, 2]), baseline=9.0, steps=2)
    assert stack.shape == (3, 6, 2)
    assert (stack[0] == 0).all()
    assert stack[1, [4, 1], 0].tolist() == [9.0, 9.0] and stack[1, [0, 2, 3, 5], 0].tolist() == [0, 0, 0, 0]
    assert stack[2, [4, 1, 0, 2], 0].tolist() == [9.0] * 4 and stack[2, [3, 5], 0].tolist() == [0, 0]
    assert deletion.area([1.0, 0.5, 0.0]) == pytest.approx(0.5)


def test_cascading_randomisation_reinitialises_the_head_then_layers_from_the_top():
    assert randomisation.levels(2) == [0, 1, 2]
    assert randomisation.levels(12) == [0, 1, 2, 4, 8, 12]
    model = tiny_model(layers=3)
    top = randomisation.randomised(model, 1, seed=0)
    changed = {name for name, p in top.named_parameters() if not torch.equal(p, dict(model.named_parameters())[name])}
    assert any(n.startswith("classifier.") for n in changed)
    assert any(n.startswith("audio_spectrogram_transformer.layers.2.") for n in changed)
    assert not any(n.startswith(("audio_spectrogram_transformer.layers.0.", "audio_spectrogram_transformer.layers.1.",
                                 "audio_spectrogram_transformer.embeddings")) for n in changed)
    assert torch.equal(randomisation.randomised(model, 1, seed=0).classifier.dense.weight, top.classifier.dense.weight)


def test_rank_correlation_of_maps():
    a = np.arange(20.0).reshape(4, 5)
    assert randomisation.rank_correlation(a, a ** 2) == pytest.approx(1.0)
    assert randomisation.rank_correlation(a, -a) == pytest.approx(-1.0)
    b = a.copy()
    b[0] = np.nan  # cells no patch covers are left out
    assert randomisation.rank_correlation(a, b) == pytest.approx(1.0)
    assert np.isnan(randomisation.rank_correlation(a, np.ones_like(a)))


def test_phone_effects_rank_the_phones_with_speaker_intervals():
    rng = np.random.default_rng(2)
    rows = []
    phrase = [("morgen", 0, "m", 0.5), ("morgen", 1, "ɔ", 0.6), ("es", 1, "s", 1.5), ("ihnen", 1, "n", 1.9)]
    for session in range(30):
        for word, position, phone, start in phrase:
            effect = (2.0 if phone == "ɔ" else 0.0) + rng.normal(0, 0.3)
            rows.append({"session_id": session, "speaker_id": session // 2, "label": session % 2, "word": word,
                         "position": position, "phone": phone, "start": start + 0.01 * rng.normal(), "effect": effect})
    table = phone_effects.effect_table(pd.DataFrame(rows), resamples=300, seed=3)
    assert list(table["phone"]) == ["m", "ɔ", "s", "n"]  # in the order of the phrase
    o = table.set_index("phone").loc["ɔ"]
    assert o["rank"] == 1 and o["rank_low"] == o["rank_high"] == 1 and o["p_top"] == 1.0
    assert o["ci_low"] < 2.0 < o["ci_high"] and o["n_recordings"] == 30
    assert table.set_index("phone")["study"].to_dict() == {"m": False, "ɔ": True, "s": True, "n": True}


def test_the_check_jobs_write_their_tables(tmp_path):
    """Deletion and randomisation on a tiny model's rollout maps, end to end from files."""
    from svd_explain import explain_maps
    from test_rollout import write_wavs
    from transformers import ASTFeatureExtractor

    model_dir = tmp_path / "model"
    tiny_model(layers=2).save_pretrained(model_dir)
    ASTFeatureExtractor(max_length=206).save_pretrained(model_dir)
    write_wavs(tmp_path / "audio", {10: 1.0, 11: 1.3, 12: 1.6})
    pd.DataFrame({"session_id": [10, 11, 12], "speaker_id": [1, 2, 3], "split": ["test"] * 3, "label": [0, 1, 1],
                  "sex": "female", "category": "healthy"}).to_parquet(tmp_path / "split.parquet")
    maps = tmp_path / "rollout.npz"
    explain_maps.write_maps("rollout", model_dir, tmp_path / "split.parquet", tmp_path / "audio", maps, device="cpu")
    deletion.write_deletion("rollout", "m", model_dir, maps, tmp_path / "split.parquet", tmp_path / "audio",
                            tmp_path / "deletion.parquet", batch_size=2, device="cpu")
    curves = pd.read_parquet(tmp_path / "deletion.parquet")
    assert list(curves["session_id"]) == [10, 11, 12] and (curves["curve"].map(len) == deletion.STEPS + 1).all()
    assert np.allclose(curves["ratio"], curves["auc"] / curves["random_auc"])
    table = randomisation.write_randomisation("rollout", "m", model_dir, tmp_path / "split.parquet", tmp_path / "audio",
                                              tmp_path / "randomisation.tsv", recordings=2, device="cpu")
    assert list(table["layers_randomised"]) == [0, 1, 2] and (table["n"] == 2).all()
    assert table["passed"].nunique() == 1
    assert pd.read_csv(tmp_path / "randomisation.tsv", sep="\t").shape == (3, 8)


def test_localisation_table_scores_the_planted_test_recordings(tmp_path):
    rng = np.random.default_rng(4)
    sessions = list(range(1, 9))
    pd.DataFrame({"session_id": sessions, "speaker_id": sessions, "split": ["test"] * 7 + ["train"],
                  "label": [1] * 8}).to_parquet(tmp_path / "split.parquet")
    cues = [{"session_id": s, "planted": s != 1, "cue_start_s": 0.30, "cue_end_s": 0.50} for s in sessions]
    pd.DataFrame(cues).to_parquet(tmp_path / "cues.parquet")
    on_cue = localisation.cue_mask([(0.30, 0.50)], 80)
    for name, boost in (("good", 10.0), ("blind", 1.0)):
        arrays = {}
        for s in sessions:
            relevance = rng.uniform(0.9, 1.1, (8, 80)).astype(np.float32)
            relevance[:, on_cue] *= boost
            arrays[f"{s}.relevance"] = relevance
        np.savez(tmp_path / f"{name}.npz", **arrays)
    table = localisation.write_localisation(
        [("rollout", "good"), ("rollout", "blind")], [tmp_path / "good.npz", tmp_path / "blind.npz"],
        tmp_path / "cues.parquet", tmp_path / "split.parquet", tmp_path / "per.parquet", tmp_path / "loc.tsv", resamples=200)
    good, blind = table.set_index("model").loc["good"], table.set_index("model").loc["blind"]
    assert good["n"] == blind["n"] == 6  # session 1 carries no cue, 8 is a train recording
    assert good["lift"] > 3 and good["auc"] == 1.0 and good["lift_low"] <= good["lift"] <= good["lift_high"]
    assert blind["lift"] == pytest.approx(1.0, abs=0.05) and blind["auc"] == pytest.approx(0.5, abs=0.15)
    assert set(pd.read_parquet(tmp_path / "per.parquet")["session_id"]) == {2, 3, 4, 5, 6, 7}


def test_phone_effects_table_has_a_row_per_model_and_phone(tmp_path):
    rows = [{"session_id": s, "speaker_id": s, "label": 1, "word": "morgen", "position": p, "phone": ph,
             "start": 0.1 * p, "end": 0.1 * p + 0.1, "effect": float(p == 1) + 0.01 * s}
            for s in range(6) for p, ph in ((0, "m"), (1, "ɔ"))]
    pd.DataFrame(rows).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame(rows[:0]).to_parquet(tmp_path / "b.parquet")  # a model with no aligned recording
    table = phone_effects.write_phone_effects(["a", "b"], [tmp_path / "a.parquet", tmp_path / "b.parquet"],
                                              tmp_path / "effects.tsv", resamples=100)
    assert list(table["model"]) == ["a", "a"] and list(table["phone"]) == ["m", "ɔ"]
    assert pd.read_csv(tmp_path / "effects.tsv", sep="\t").columns.tolist() == ["model", *phone_effects.COLUMNS]


def test_the_check_figures_are_drawn_from_their_tables(tmp_path):
    from svd_explain.checks import figures

    pd.DataFrame({"method": ["rollout", "rollout", "attention_pathological", "attention_pathological"],
                  "model": ["ast_freeze", "ast_finetuned"] * 2, "n": 6, "lift": [1.0, 1.2, 1.1, 2.5],
                  "lift_low": [0.9, 1.0, 0.95, 2.0], "lift_high": [1.1, 1.4, 1.3, 3.0], "auc": [0.5, 0.6, 0.55, 0.9],
                  "auc_low": [0.4, 0.5, 0.45, 0.85], "auc_high": [0.6, 0.7, 0.65, 0.95]}).to_csv(tmp_path / "loc.tsv", sep="\t", index=False)
    curves = pd.DataFrame({"method": ["rollout"] * 4, "model": ["a", "a", "b", "b"], "session_id": [1, 2, 1, 2],
                           "speaker_id": [1, 2, 1, 2], "label": 1, "predicted": 1, "auc": 0.5, "random_auc": 0.6,
                           "ratio": [0.8, 0.9, 1.1, 1.0], "curve": [list(np.linspace(0.9, 0.5, 11))] * 4,
                           "random_curve": [list(np.linspace(0.9, 0.7, 11))] * 4})
    curves.to_parquet(tmp_path / "curves.parquet")
    pd.DataFrame({"method": ["rollout"] * 3 + ["phone_occlusion"] * 3, "model": "a", "layers_randomised": [0, 1, 2] * 2,
                  "n": 4, "correlation": [0.99, 0.97, 0.95, 0.6, 0.2, 0.1], "correlation_sd": 0.05,
                  "max_correlation": 0.5, "passed": [False] * 3 + [True] * 3}).to_csv(tmp_path / "rand.tsv", sep="\t", index=False)
    pd.DataFrame({"model": "a", "word": ["morgen", "morgen"], "position": [0, 1], "phone": ["m", "ɔ"],
                  "study": [False, True], "n_recordings": 6, "mean_effect": [0.1, 0.8], "ci_low": [0.0, 0.5],
                  "ci_high": [0.2, 1.1], "rank": [2, 1], "rank_low": [2, 1], "rank_high": [2, 1],
                  "p_top": [0.4, 1.0]}).to_csv(tmp_path / "effects.tsv", sep="\t", index=False)
    figures.localisation_figure(tmp_path / "loc.tsv", tmp_path / "loc.png", dpi=60)
    figures.deletion_figure(tmp_path / "curves.parquet", tmp_path / "deletion.png", dpi=60)
    figures.randomisation_figure(tmp_path / "rand.tsv", tmp_path / "rand.png", dpi=60)
    figures.phone_effects_figure(tmp_path / "effects.tsv", tmp_path / "effects.png", dpi=60)
    for name in ("loc", "deletion", "rand", "effects"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
