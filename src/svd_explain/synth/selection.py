"""Which sessions of the real SVD session table the synthetic corpus contains.

Speakers are drawn stratified by (status of their first session × sex) and keep all their
sessions, so that speakers with several sessions (and with both healthy and pathological
sessions) occur as in the real database. The draw is nested: one seeded order of all sessions,
of which a corpus of n sessions takes the first n, so that a larger corpus only adds sessions.
"""
import numpy as np
import pandas as pd

from svd_explain.catalog import default_metadata, read_metadata

# Higher session ids have no files in the archive.
LAST_SESSION_WITH_AUDIO = 2611
# Sessions whose phrase recording is missing or corrupt in the archive.
SESSIONS_WITHOUT_PHRASE = frozenset({713, 1669})
# Healthy sessions recorded in 2001 in this id range: the archive lacks the phrase for 53 of
# them, and no public list says which, so none of them is drawn.
HEALTHY_2001_WITHOUT_PHRASE = range(1925, 2203)
# Seeds the order of the draw apart from the other uses of the corpus seed.
SELECTION_STREAM = 0


def has_phrase_recording(table):
    """Boolean mask over a session table: True where the real archive has a phrase recording."""
    session_id = table["AufnahmeID"].astype(int)
    healthy_2001 = (
        session_id.between(HEALTHY_2001_WITHOUT_PHRASE.start, HEALTHY_2001_WITHOUT_PHRASE.stop - 1)
        & (table["AufnahmeTyp"] == "n")
        & table["AufnahmeDatum"].str.startswith("2001")
    )
    return (
        (session_id <= LAST_SESSION_WITH_AUDIO)
        & ~session_id.isin(SESSIONS_WITHOUT_PHRASE)
        & ~healthy_2001
    )


def session_order(table, seed):
    """Every session with a phrase recording, in the seeded order in which they are drawn.

    Speakers are shuffled within each stratum (status of the speaker's first session × sex)
    and the strata interleaved in proportion to their size, so that every prefix is close to
    stratified; each speaker's sessions follow one another, earliest first."""
    sessions = table.loc[has_phrase_recording(table)].copy()
    sessions["session_id"] = sessions["AufnahmeID"].astype(int)
    sessions["speaker_id"] = sessions["SprecherID"].astype(int)
    sessions = sessions.sort_values(["speaker_id", "AufnahmeDatum", "session_id"])
    first = sessions.groupby("speaker_id", sort=True).first()
    strata = first.groupby(["AufnahmeTyp", "Geschlecht"], sort=True)

    rng = np.random.default_rng([seed, SELECTION_STREAM])
    keys = []
    for _, stratum in strata:
        speakers = rng.permutation(stratum.index.to_numpy())
        # Evenly spaced positions in [0, 1) with a random phase per stratum.
        position = (np.arange(len(speakers)) + rng.uniform()) / len(speakers)
        keys.append(pd.Series(position, index=speakers))
    speaker_rank = pd.concat(keys).sort_values(kind="stable")
    rank = pd.Series(np.arange(len(speaker_rank)), index=speaker_rank.index)
    sessions["rank"] = sessions["speaker_id"].map(rank)
    return sessions.sort_values(["rank", "AufnahmeDatum", "session_id"], kind="stable")["session_id"].to_list()


def select_sessions(summary_csv, n_sessions, seed):
    """The first `n_sessions` sessions of the seeded order, as rows of the session table in the
    official columns and values, in the table's order. `summary_csv` None reads the table that
    ships with the sbvoicedb package."""
    table = read_metadata(summary_csv if summary_csv is not None else default_metadata())
    order = session_order(table, seed)
    if not 1 <= n_sessions <= len(order):
        raise ValueError(
            f"n_sessions must be between 1 and {len(order)} (the sessions with a phrase "
            f"recording in the session table), got {n_sessions}"
        )
    chosen = set(order[:n_sessions])
    return table.loc[table["AufnahmeID"].astype(int).isin(chosen)].reset_index(drop=True)
