
import numpy as np
import pandas as pd
import pytest

from svd_explain import relevance, relevance_figures
from svd_explain.align.status import write_status
from svd_explain.frames import frame_centres
from svd_explain.textgrids import Segment, write_alignment

WORDS = [Segment(0.10, 0.40, "Guten"), Segment(0.40, 0.70, "Morgen")]
PHONES = [Segment(0.10, 0.20, "ɡ"), Segment(0.20, 0.30, "uː"), Segment(0.30, 0.40, "n"),
          Segment(0.40, 0.50, "m"), Segment(0.50, 0.60, "ɔ"), Segment(0.60, 0.70, "n")]


def test_spread_of_uniform_and_concentrated_maps():
    uniform = np.ones((128, 100))
    uniform[126:] = np.nan  # uncovered cells are left out
    measures = relevance.spread_measures(uniform)
    assert measures["entropy"] == pytest.approx(1.0)
    assert measures["area_50"] == pytest.approx(0.5, abs=1e-3)
    assert measures["area_80"] == pytest.approx(0.8, abs=1e-3)
    peaked = np.full((10, 10), 1e-6)
    peaked[2, 3] = 1.0
    measures = relevance.spread_measures(peaked)
    assert measures["area_50"] == measures["area_80"] == pytest.approx(0.01)
    assert measures["entropy"] < 0.01
    half = np.ones((10, 10))
    half[:, 5:] = 3.0  # three quarters of the mass on half the area
    assert relevance.spread_measures(half)["area_50"] == pytest.approx(50 * 2 / 3 / 100, abs=0.01)


def test_frame_relevance_is_relative_to_the_recording_mean():
    rng = np.random.default_rng(0)
    frames = relevance.frame_relevance(rng.uniform(size=(128, 70)))
    assert frames.mean() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mass"):
        relevance.frame_relevance(np.zeros((4, 4)))


def test_phone_relevance_finds_the_relevant_phone():
    """All relevance on the frames of /ɔ/ (0.50–0.60 s): /ɔ/ gets n_frames/its frames."""
    n_frames = 80
    centres = frame_centres(n_frames)
    relevance_map = np.full((128, n_frames), 1e-9)
    inside = (centres >= 0.50) & (centres < 0.60)
    relevance_map[:, inside] = 1.0
    rows = {(r["word"], r["position"], r["phone"]): r for r in relevance.phone_relevance(relevance_map, WORDS, PHONES)}
    assert rows[("morgen", 1, "ɔ")]["relevance"] == pytest.approx(n_frames / inside.sum(), rel=1e-6)
    assert rows[("morgen", 1, "ɔ")]["n_frames"] == inside.sum() == 10
    assert rows[("guten", 2, "n")]["relevance"] < 1e-6
    assert ("morgen", 2, "n") in rows  # the same phone in another word is its own row


def test_phone_occurrences_position_and_word():
    occurrences = relevance.phone_occurrences(WORDS, PHONES + [Segment(0.8, 0.9, "x")])
    assert occurrences[0] == ("guten", 0, "ɡ", 0.10, 0.20)
    assert occurrences[4][:3] == ("morgen", 1, "ɔ")
    assert occurrences[-1][:3] == ("", 0, "x")  # outside every word


def test_rank_biserial_and_speaker_level_comparison():
    assert relevance.rank_biserial([1, 2, 3]) == 1.0
    assert relevance.rank_biserial([-1, -2, 3]) == pytest.approx((3 - 3) / 6)
    rng = np.random.default_rng(1)
    rows = []
    for session in range(24):  # 12 speakers with two recordings each
        base = rng.uniform(0.8, 0.9)
        common = {"session_id": session, "speaker_id": session // 2, "area_50": 0.4, "area_80": 0.7,
                  "padding_share": 0.1}
        rows.append({"model": "freeze", "entropy": base, **common})
        rows.append({"model": "finetuned", "entropy": base - rng.uniform(0.05, 0.1), **common})
    per_recording = pd.DataFrame(rows)
    table = relevance.spread_table(per_recording, ("freeze", "finetuned"), resamples=300).set_index(["measure", "model"])
    comparison = table.loc[("entropy", "finetuned − freeze")]
    # The speaker is the unit: 12 differences, not 24.
    assert comparison["unit"] == "speaker" and comparison["n"] == 12 and comparison["median"] < 0
    assert comparison["p_value"] == pytest.approx(2 / 2**12)  # exact: all 12 differences negative
    assert comparison["rank_biserial"] == -1.0
    means = per_recording.groupby(["speaker_id", "model"])["entropy"].mean().unstack()
    differences = means["finetuned"] - means["freeze"]
    assert comparison["mean"] == pytest.approx(differences.mean())
    assert comparison["d_z"] == pytest.approx(differences.mean() / differences.std(ddof=1))
    assert comparison["diff_lo"] < comparison["mean"] < comparison["diff_hi"] < 0
    assert comparison["d_z_lo"] < comparison["d_z"] < comparison["d_z_hi"]
    assert comparison["relative_diff"] == pytest.approx(differences.mean() / per_recording.loc[per_recording["model"] == "freeze", "entropy"].mean())
    assert table.loc[("entropy", "freeze"), "n"] == 24 and table.loc[("entropy", "freeze"), "unit"] == "recording"
    nothing = table.loc[("area_50", "finetuned − freeze")]
    assert np.isnan(nothing["p_value"]) and np.isnan(nothing["diff_lo"])  # no difference at all


def test_energy_measures():
    rng = np.random.default_rng(2)
    fbank = rng.normal(size=(20, 30))
    same = relevance.energy_measures(np.exp(fbank), fbank)
    assert same["spearman"] == pytest.approx(1.0) and same["top_overlap"] == 1.0
    opposite = relevance.energy_measures(np.exp(-fbank), fbank)
    assert opposite["spearman"] == pytest.approx(-1.0) and opposite["top_overlap"] == 0.0
    with_gaps = np.exp(fbank)
    with_gaps[:2] = np.nan
    assert relevance.energy_measures(with_gaps, fbank)["spearman"] == pytest.approx(1.0)


def test_speaker_bootstrap_interval():
    rng = np.random.default_rng(3)
    values = rng.normal(1.0, 0.1, 40)
    low, high = relevance.speaker_bootstrap_interval(values, np.arange(40) // 2, 500, 0.95, 0)
    assert low < values.mean() < high and high - low < 0.1
    assert np.isnan(relevance.speaker_bootstrap_interval([1.0, 2.0], [7, 7], 10, 0.95, 0)[0])


@pytest.fixture
def study(tmp_path):
    """Two models' maps for 6 test recordings (one not aligned, one doubtfully) and one train recording.
    "finetuned" puts its relevance on /ɔ/ and is more concentrated than "freeze"."""
    rng = np.random.default_rng(4)
    sessions = list(range(1, 8))
    split = pd.DataFrame({"session_id": sessions, "speaker_id": [10, 11, 12, 13, 14, 15, 16],
                          "split": ["test"] * 6 + ["train"], "label": [0, 1, 0, 1, 0, 1, 0],
                          "sex": "female", "category": "healthy"})
    split.to_parquet(tmp_path / "split.parquet")
    (tmp_path / "alignment" / "status").mkdir(parents=True)
    centres = frame_centres(80)
    on_o = (centres >= 0.5) & (centres < 0.6)
    for session in sessions:
        aligned = session != 3
        write_alignment(tmp_path / "alignment" / f"{session}.TextGrid", WORDS if aligned else [],
                        PHONES if aligned else [], 0.82)
        doubtful = session == 5
        reason = "implausible alignment: /ɔ/ takes 40 % of the phrase" if doubtful else "" if aligned else "no path"
        write_status(tmp_path / "alignment" / "status" / f"{session}.json", session, aligned, reason, doubtful=doubtful)
    for model, boost in (("freeze", 1.5), ("finetuned", 20.0)):
        arrays = {}
        for session in sessions:
            fbank = rng.normal(-6, 2, (128, 80)).astype(np.float32)
            relevance_map = rng.uniform(0.9, 1.1, (128, 80)).astype(np.float32)
            relevance_map[:, on_o] *= boost
            relevance_map[126:] = np.nan
            arrays[f"{session}.relevance"], arrays[f"{session}.fbank"] = relevance_map, fbank
            arrays[f"{session}.padding_share"] = np.float32(0.02 * session if model == "freeze" else 0.01 * session)
        np.savez(tmp_path / f"{model}.npz", **arrays)
    return tmp_path


def test_phone_statistics_end_to_end(study):
    out = study / "out"
    relevance.write_phone_relevance(
        ["freeze", "finetuned"], [study / "freeze.npz", study / "finetuned.npz"], study / "split.parquet",
        study / "alignment", study / "alignment" / "status", out / "phones.tsv", out / "excluded.tsv",
        resamples=200, seed=1)
    relevance_figures.write_phones_figure(out / "phones.tsv", ["freeze", "finetuned"], out / "phones.png", dpi=60)
    table = pd.read_csv(out / "phones.tsv", sep="\t")
    assert list(table.columns) == ["model", "class", "word", "position", "phone", "mean_relevance", "ci_low",
                                   "ci_high", "n_frames", "n_recordings", "rank", "sentence_index"]
    # 4 usable test recordings: healthy 1 (3 is not aligned, 5 doubtfully), pathological 2, 4, 6
    assert set(table["n_recordings"]) == {1, 3}
    top = table[table["rank"] == 1]
    assert (top["phone"] == "ɔ").all() and len(top) == 4  # 2 models × 2 classes
    o = table[(table["phone"] == "ɔ")].set_index(["model", "class"])["mean_relevance"]
    assert o[("finetuned", "healthy")] > o[("freeze", "healthy")] > 1
    # phones in the order spoken
    assert table[(table["model"] == "freeze") & (table["class"] == "healthy")]["phone"].tolist() == ["ɡ", "uː", "n", "m", "ɔ", "n"]
    # the figure reads the order back from the table
    assert relevance.table_sentence_order(relevance.read_phone_table(out / "phones.tsv")) == [
        ("guten", 0, "ɡ"), ("guten", 1, "uː"), ("guten", 2, "n"), ("morgen", 0, "m"), ("morgen", 1, "ɔ"), ("morgen", 2, "n")]
    excluded = pd.read_csv(out / "excluded.tsv", sep="\t")
    assert excluded.to_dict("records") == [
        {"session_id": 3, "reason": "not aligned: no path"},
        {"session_id": 5, "reason": "alignment doubtful (/ɔ/ takes 40 % of the phrase)"},
    ]
    assert (out / "phones.png").stat().st_size > 0


def test_spread_and_energy_end_to_end(study):
    out = study / "out"
    npz = [study / "freeze.npz", study / "finetuned.npz"]
    relevance.write_spread(["freeze", "finetuned"], npz, study / "split.parquet", ["freeze", "finetuned"],
                           out / "spread.tsv", out / "spread.parquet", resamples=100)
    relevance_figures.write_spread_figure(out / "spread.tsv", out / "spread.parquet", ["freeze", "finetuned"],
                                  out / "spread.png", dpi=60)
    table = pd.read_csv(out / "spread.tsv", sep="\t").set_index(["measure", "model"])
    comparison = table.loc[("area_50", "finetuned − freeze")]
    assert comparison["n"] == 6 and comparison["median"] < 0 and comparison["rank_biserial"] == -1.0
    per_recording = pd.read_parquet(out / "spread.parquet")
    assert len(per_recording) == 12 and set(per_recording["session_id"]) == {1, 2, 3, 4, 5, 6}
    # The mass on padding comes from the map files, per recording and model.
    padding = per_recording.set_index(["model", "session_id"])["padding_share"]
    assert padding[("freeze", 3)] == pytest.approx(0.06) and padding[("finetuned", 3)] == pytest.approx(0.03)
    assert table.loc[("padding_share", "freeze"), "mean"] == pytest.approx(0.07)
    assert table.loc[("padding_share", "finetuned − freeze"), "mean"] < 0
    relevance.write_energy(["freeze", "finetuned"], npz, study / "split.parquet", out / "energy.tsv",
                           out / "energy.parquet", resamples=100)
    relevance_figures.write_energy_figure(out / "energy.parquet", out / "energy.png", dpi=60)
    energy = pd.read_csv(out / "energy.tsv", sep="\t")
    assert energy["n"].tolist() == [6, 6]
    assert energy["spearman_mean"].abs().max() < 0.2  # relevance drawn independently of power here
    assert (out / "spread.png").stat().st_size > 0 and (out / "energy.png").stat().st_size > 0


def test_spread_needs_the_padding_share(study):
    np.savez(study / "old.npz", **{f"{s}.{k}": np.ones((4, 4)) for s in range(1, 8) for k in ("relevance", "fbank")})
    with pytest.raises(KeyError, match="no padding_share"):
        relevance.write_spread(["a", "b"], [study / "old.npz"] * 2, study / "split.parquet", ["a", "b"],
                               study / "s.tsv", study / "s.parquet")


def test_statistics_refuse_missing_maps(study):
    np.savez(study / "partial.npz", **{"1.relevance": np.ones((4, 4)), "1.fbank": np.ones((4, 4))})
    with pytest.raises(KeyError, match="no relevance map for 5 test recording"):
        relevance.write_energy(["m"], [study / "partial.npz"], study / "split.parquet", study / "e.tsv",
                               study / "e.parquet")


def test_signed_maps_count_their_positive_part_and_maps_without_it_are_left_out(study):
    """Phone occlusion's maps: signed, and NaN where a recording had no usable alignment."""
    out = study / "out"
    with np.load(study / "finetuned.npz") as maps:
        arrays = dict(maps)
    arrays["1.relevance"] = -np.abs(arrays["1.relevance"])  # every phone speaks against "pathological"
    arrays["2.relevance"] = np.full_like(arrays["2.relevance"], np.nan)
    signed = arrays["4.relevance"].copy()
    signed[:, :40] = -50.0  # a large negative part must not pull the positive /ɔ/ down
    arrays["4.relevance"] = signed
    np.savez(study / "signed.npz", **arrays)
    relevance.write_phone_relevance(["signed"], [study / "signed.npz"], study / "split.parquet", study / "alignment",
                                    study / "alignment" / "status", out / "phones.tsv", out / "excluded.tsv",
                                    resamples=50)
    table = pd.read_csv(out / "phones.tsv", sep="\t")
    assert (table.loc[table["rank"] == 1, "phone"] == "ɔ").all()
    # Left: 4 and 6 (pathological); 1 and 2 by their maps, 3 and 5 by their alignments.
    assert set(table["class"]) == {"pathological"} and set(table["n_recordings"]) == {2}
    excluded = pd.read_csv(out / "excluded.tsv", sep="\t").set_index("session_id")["reason"]
    assert excluded[1] == "signed: map without positive relevance" and excluded[2] == "signed: map without values"
    relevance.write_spread(["signed", "finetuned"], [study / "signed.npz", study / "finetuned.npz"],
                           study / "split.parquet", ["finetuned", "signed"], out / "spread.tsv", out / "spread.parquet",
                           resamples=50)
    spread = pd.read_parquet(out / "spread.parquet")
    assert set(spread.loc[spread["model"] == "signed", "session_id"]) == {3, 4, 5, 6}
    assert spread["entropy"].between(0, 1).all()
    relevance.write_energy(["signed"], [study / "signed.npz"], study / "split.parquet", out / "energy.tsv",
                           out / "energy.parquet", resamples=50)
    assert pd.read_csv(out / "energy.tsv", sep="\t")["n"].tolist() == [4]
