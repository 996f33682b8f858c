"""The split on the full real SVD session table (both session modes): speaker-disjoint, the
configured shares of speakers, stratified, deterministic under the seed; plus its guards."""
import numpy as np
import pandas as pd
import pytest

from svd_explain.catalog import default_metadata, sessions_from_metadata
from svd_explain.split import SPLITS, assign_strata, count_table, make_split, write_split

SHARES = (0.8, 0.1, 0.1)


@pytest.fixture(scope="module", params=["first_per_speaker", "all"])
def sessions(request):
    table, _ = sessions_from_metadata(default_metadata(), sessions=request.param)
    return table


@pytest.fixture(scope="module")
def split(sessions):
    return make_split(sessions, SHARES, seed=13)


def speaker_table(split):
    return split.groupby("speaker_id")["split"].agg(["nunique", "first"])


def test_the_full_table_is_the_study_population(sessions):
    # 1853 speakers in both modes; 2225 sessions when every session is kept.
    assert sessions["speaker_id"].nunique() == 1853
    assert len(sessions) in (1853, 2225)


def test_every_session_gets_exactly_one_split(sessions, split):
    assert sorted(split["session_id"]) == sorted(sessions["session_id"])
    assert set(split["split"]) == set(SPLITS)
    assert split["session_id"].is_unique


def test_no_speaker_is_in_two_splits(split):
    assert (speaker_table(split)["nunique"] == 1).all()


def test_repeat_speakers_stay_together(sessions, split):
    repeat = sessions["speaker_id"].duplicated(keep=False)
    # 200 SVD speakers have repeat sessions; first_per_speaker keeps one session each.
    assert sessions.loc[repeat, "speaker_id"].nunique() == (200 if len(sessions) == 2225 else 0)
    repeat_speakers = split.loc[split["speaker_id"].isin(sessions.loc[repeat, "speaker_id"])]
    assert (repeat_speakers.groupby("speaker_id")["split"].nunique() == 1).all()


def test_speaker_shares_are_the_configured_ones(split):
    per_split = speaker_table(split)["first"].value_counts()
    assert per_split.to_dict() == {"train": 1483, "dev": 185, "test": 185}


def first_sessions(sessions):
    return sessions.sort_values(["speaker_id", "recorded", "session_id"]).drop_duplicates("speaker_id")


def test_every_label_sex_category_stratum_keeps_the_shares(sessions, split):
    speakers = first_sessions(sessions).set_index("speaker_id")[["status", "sex", "category"]]
    speakers["split"] = speaker_table(split)["first"]
    for stratum, rows in speakers.groupby(["status", "sex", "category"]):
        shares = rows["split"].value_counts(normalize=True)
        for name, share in zip(SPLITS, SHARES):
            # Within two speakers of the exact share in every stratum (the smallest has ~200).
            assert abs(shares.get(name, 0) - share) * len(rows) <= 2, (stratum, name, shares.to_dict())


def test_labels_in_the_split_are_the_sessions_own(sessions, split):
    merged = split.merge(sessions[["session_id", "status", "sex", "category"]], on="session_id")
    assert ((merged["status"] == "pathological").astype(int) == merged["label"]).all()
    assert (merged["sex_x"] == merged["sex_y"]).all() and (merged["category_x"] == merged["category_y"]).all()
    assert split["session_id"].dtype == np.int64 and split["speaker_id"].dtype == np.int64


def test_same_seed_same_split_other_seed_other_split(sessions, split):
    pd.testing.assert_frame_equal(make_split(sessions, SHARES, seed=13), split)
    other = make_split(sessions, SHARES, seed=14)
    assert (other["split"] != split["split"]).mean() > 0.1


def test_small_strata_pool_at_a_coarser_level():
    speakers = pd.DataFrame({
        "label": [1] * 12 + [1] * 3 + [1] * 4 + [0] * 2,
        "sex": ["female"] * 12 + ["male"] * 3 + ["male"] * 4 + ["female"] * 2,
        "category": ["organic"] * 12 + ["organic"] * 3 + ["non-organic"] * 4 + ["healthy"] * 2,
    })
    strata = assign_strata(speakers, min_size=5)
    assert set(strata[:12]) == {"1 × female × organic"}
    # organic × male (3) and non-organic × male (4) pool at label × sex (7 ≥ 5).
    assert set(strata[12:19]) == {"1 × male (pooled)"}
    # The two healthy speakers are too few at every level: they join the largest stratum.
    assert set(strata[19:]) == {"1 × female × organic"}


def tiny_sessions(n_speakers, sessions_per_speaker=1):
    rows = []
    for speaker in range(n_speakers):
        for visit in range(sessions_per_speaker):
            pathological = speaker % 2 == 1
            rows.append({
                "session_id": 100 * speaker + visit, "speaker_id": speaker,
                "sex": "female" if speaker % 4 < 2 else "male",
                "status": "pathological" if pathological else "healthy",
                "category": ("organic" if speaker % 3 else "non-organic") if pathological else "healthy",
                "recorded": pd.Timestamp("2000-01-01") + pd.Timedelta(days=visit),
            })
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n_speakers", [3, 7, 25])
def test_tiny_corpora_still_fill_every_split(n_speakers):
    split = make_split(tiny_sessions(n_speakers, 2), SHARES, seed=1)
    per_split = split.groupby("split")["speaker_id"].nunique()
    assert set(per_split.index) == set(SPLITS) and per_split.sum() == n_speakers
    assert (split.groupby("speaker_id")["split"].nunique() == 1).all()


def test_bad_input_raises():
    good = tiny_sessions(20)
    with pytest.raises(ValueError, match="summing to 1"):
        make_split(good, (0.8, 0.1, 0.2))
    with pytest.raises(ValueError, match="cannot fill"):
        make_split(tiny_sessions(2), SHARES)
    with pytest.raises(ValueError, match="lacks column"):
        make_split(good.drop(columns="sex"), SHARES)
    with pytest.raises(ValueError, match="more than once"):
        make_split(pd.concat([good, good.iloc[:1]]), SHARES)
    with pytest.raises(ValueError, match="does not fit status"):
        make_split(good.assign(category="organic"), SHARES)
    with pytest.raises(ValueError, match="unknown sex"):
        make_split(good.assign(sex="w"), SHARES)
    with pytest.raises(ValueError, match="sex missing"):
        make_split(good.assign(sex=None), SHARES)


def test_write_split_writes_the_tables(tmp_path, sessions):
    catalog = tmp_path / "sessions.parquet"
    sessions.to_parquet(catalog)
    paths = [tmp_path / "split" / "split.parquet", tmp_path / "split" / "split.tsv", tmp_path / "split" / "counts.tsv"]
    split = write_split(catalog, *paths, SHARES, 13)
    pd.testing.assert_frame_equal(pd.read_parquet(paths[0]), split)
    assert len(pd.read_csv(paths[1], sep="\t")) == len(sessions)
    counts = pd.read_csv(paths[2], sep="\t")
    totals = counts.loc[counts["category"] == "all"].set_index("split")
    assert totals.loc["test", "speakers"] == 185 and totals["sessions"].sum() == len(sessions)
    strata = counts.loc[counts["category"] != "all"]
    assert strata["sessions"].sum() == len(sessions)
    assert strata["share_of_stratum"].between(0.09, 0.81).all()


def test_count_table_shares_sum_to_one_per_stratum(split):
    counts = count_table(split)
    assert np.allclose(counts.groupby(["category", "sex"])["share_of_stratum"].sum(), 1.0)
