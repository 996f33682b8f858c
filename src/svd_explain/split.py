"""Speaker-disjoint, stratified train / dev / test split of the catalog's sessions.

Speakers, not sessions, are assigned: every session of a speaker lands in the same split, so a
model never sees a test speaker's voice in training (200 SVD speakers have repeat sessions)."""
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedShuffleSplit

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
SPLIT_COLUMNS = ["session_id", "speaker_id", "split", "label", "sex", "category"]
# Stratification levels, finest first: a stratum too small at one level pools with the other
# small strata at the next (coarser) level.
STRATA_LEVELS = (("label", "sex", "category"), ("label", "sex"), ("label",), ())
REQUIRED_COLUMNS = ("session_id", "speaker_id", "sex", "status", "category", "recorded")
SEXES = ("female", "male")
CATEGORIES = {"healthy": "healthy", "organic": "pathological", "non-organic": "pathological"}


def _check_sessions(sessions):
    missing = [c for c in REQUIRED_COLUMNS if c not in sessions.columns]
    if missing:
        raise ValueError(f"session table lacks column(s) {missing}")
    if sessions.empty:
        raise ValueError("session table is empty: nothing to split")
    for column in ("session_id", "speaker_id", "sex", "status", "category"):
        if sessions[column].isna().any():
            bad = sessions.loc[sessions[column].isna(), "session_id"].tolist()[:5]
            raise ValueError(f"{column} missing for session(s) {bad}")
    if sessions["session_id"].duplicated().any():
        bad = sessions.loc[sessions["session_id"].duplicated(), "session_id"].tolist()[:5]
        raise ValueError(f"session id(s) {bad} occur more than once")
    unknown_sex = ~sessions["sex"].isin(SEXES)
    if unknown_sex.any():
        raise ValueError(f"unknown sex {sorted(set(sessions.loc[unknown_sex, 'sex']))}; expected {SEXES}")
    expected_status = sessions["category"].map(CATEGORIES)
    inconsistent = expected_status != sessions["status"]
    if inconsistent.any():
        row = sessions.loc[inconsistent].iloc[0]
        raise ValueError(
            f"session {row.session_id}: category {row.category!r} does not fit status {row.status!r} "
            f"(categories: {CATEGORIES})"
        )


def split_counts(shares, n):
    """Speakers per split: rounded shares of `n`, at least one each, summing to `n`."""
    if n < len(SPLITS):
        raise ValueError(f"{n} speaker(s) cannot fill {len(SPLITS)} splits")
    counts = {name: max(1, round(share * n)) for name, share in zip(SPLITS[1:], shares[1:])}
    counts = {"train": n - sum(counts.values()), **counts}
    if counts["train"] < 1:
        raise ValueError(f"shares {shares} leave no speaker for training out of {n}")
    return counts


def assign_strata(speakers, min_size):
    """One stratum key per speaker (a string): the finest level of STRATA_LEVELS at which the
    speaker's stratum has at least `min_size` speakers.

    Small strata pool at the next coarser level (e.g. organic × male joins label × sex as
    "pathological × male (pooled)"); whatever is still below `min_size` at the coarsest level
    joins the largest stratum, so that every stratum can give each split a speaker."""
    strata = pd.Series(index=speakers.index, dtype=object)
    for level in STRATA_LEVELS:
        open_ = strata.isna()
        if not open_.any():
            break
        keys = speakers.loc[open_, list(level)].astype(str).agg(" × ".join, axis=1) if level else "all"
        keys = pd.Series(keys, index=speakers.index[open_])
        if level != STRATA_LEVELS[0]:
            keys = keys + " (pooled)"
        sizes = keys.map(keys.value_counts())
        strata.loc[sizes.index[sizes >= min_size]] = keys[sizes >= min_size]
    leftover = strata.isna()
    if leftover.any():
        largest = strata.value_counts().idxmax() if (~leftover).any() else "all (pooled)"
        strata.loc[leftover] = largest
    return strata.astype(str)


def _speaker_table(sessions):
    """One row per speaker with the label, sex and category of their first session (earliest
    recording date, session id breaking ties and standing in for a missing date)."""
    ordered = sessions.assign(_date=pd.to_datetime(sessions["recorded"]).fillna(pd.Timestamp.max))
    ordered = ordered.sort_values(["speaker_id", "_date", "session_id"])
    first = ordered.drop_duplicates("speaker_id", keep="first")
    return pd.DataFrame({
        "speaker_id": first["speaker_id"].to_numpy(),
        "label": (first["status"] == "pathological").astype("int64").to_numpy(),
        "sex": first["sex"].to_numpy(),
        "category": first["category"].to_numpy(),
    })


def make_split(sessions, shares=(0.8, 0.1, 0.1), seed=13):
    """Assign every session to train / dev / test, speaker-disjoint and stratified.

    Rule:
    - Speakers are the unit: the split sizes are shares of speakers (rounded, at least one
      speaker each, train takes the rest), and all sessions of a speaker share a split.
    - A speaker is stratified by their first session's label × sex × category. A stratum with
      fewer than ceil(1 / smallest share) speakers (10 for 80/10/10) cannot put a speaker in
      every split, so it pools with the other small strata at label × sex, then at label,
      then overall; a remainder still too small joins the largest stratum (`assign_strata`).
    - Test is drawn first from all speakers, then dev from the rest, each with scikit-learn's
      StratifiedShuffleSplit (which keeps the exact split sizes and each stratum's share
      within a speaker), from one random state seeded with `seed`.

    Returns one row per session: session_id, speaker_id, split, label (1 = pathological, of
    the session itself), sex, category; sorted by session_id."""
    shares = tuple(float(s) for s in shares)
    if len(shares) != len(SPLITS) or min(shares) <= 0 or not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
        raise ValueError(f"split shares (train, dev, test) must be 3 positive numbers summing to 1, not {shares}")
    _check_sessions(sessions)
    speakers = _speaker_table(sessions)
    counts = split_counts(shares, len(speakers))
    min_size = math.ceil(1 / min(shares) - 1e-9)
    strata = assign_strata(speakers, min_size).to_numpy()
    random_state = np.random.RandomState(seed)

    split_of = np.full(len(speakers), "train", dtype=object)
    rest = np.arange(len(speakers))
    for name in ("test", "dev"):
        splitter = StratifiedShuffleSplit(
            n_splits=1, test_size=counts[name], train_size=len(rest) - counts[name], random_state=random_state
        )
        keep, drawn = next(splitter.split(np.zeros(len(rest)), strata[rest]))
        split_of[rest[drawn]] = name
        rest = rest[keep]

    speaker_split = dict(zip(speakers["speaker_id"], split_of))
    table = pd.DataFrame({
        "session_id": sessions["session_id"].astype("int64").to_numpy(),
        "speaker_id": sessions["speaker_id"].astype("int64").to_numpy(),
        "split": sessions["speaker_id"].map(speaker_split).to_numpy(),
        "label": (sessions["status"] == "pathological").astype("int64").to_numpy(),
        "sex": sessions["sex"].to_numpy(),
        "category": sessions["category"].to_numpy(),
    })
    log.info(
        "split %d speakers (%d sessions) into %s; strata: %s",
        len(speakers), len(table), counts, {k: int(v) for k, v in pd.Series(strata).value_counts().items()},
    )
    return table.sort_values("session_id").reset_index(drop=True)[SPLIT_COLUMNS]


def count_table(split):
    """Speakers and sessions per split and category × sex, with each stratum's share of
    speakers that went to that split; one 'all' row per split gives its share of all speakers."""
    grouped = split.groupby(["split", "category", "sex"]).agg(
        speakers=("speaker_id", "nunique"), sessions=("session_id", "size")
    ).reset_index()
    stratum_speakers = split.groupby(["category", "sex"])["speaker_id"].nunique()
    grouped["share_of_stratum"] = grouped["speakers"] / [
        stratum_speakers[(c, s)] for c, s in zip(grouped["category"], grouped["sex"])
    ]
    totals = split.groupby("split").agg(speakers=("speaker_id", "nunique"), sessions=("session_id", "size"))
    totals = totals.reset_index().assign(category="all", sex="all")
    totals["share_of_stratum"] = totals["speakers"] / split["speaker_id"].nunique()
    table = pd.concat([grouped, totals], ignore_index=True)
    table["split"] = pd.Categorical(table["split"], SPLITS, ordered=True)
    return table.sort_values(["split", "category", "sex"]).reset_index(drop=True)[
        ["split", "category", "sex", "speakers", "sessions", "share_of_stratum"]
    ]


def write_split(catalog_parquet, split_parquet, split_tsv, counts_tsv, shares, seed):
    """Split the catalog's sessions (`make_split`) and write the split (Parquet and TSV) and
    its counts table (`count_table`)."""
    split = make_split(pd.read_parquet(catalog_parquet), shares, seed)
    Path(split_parquet).parent.mkdir(parents=True, exist_ok=True)
    split.to_parquet(split_parquet, index=False)
    split.to_csv(split_tsv, sep="\t", index=False)
    count_table(split).to_csv(counts_tsv, sep="\t", index=False, float_format="%.4f")
    return split
