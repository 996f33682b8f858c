"""The catalog: one row per usable session, and every session or file left out with a reason.

Reads the session table in the official SVD column format, maps pathology labels to the
healthy / organic / non-organic categories, selects sessions, finds each session's phrase
recording in the official archive layout or the legacy flat layout, and checks the audio."""
import logging
import os
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from svd_explain.audio import BadRecording, check_recording
from svd_explain.defects import DEFECTS_TABLE, REPAIRS, phrase_voice, read_known_defects

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
CATEGORIES_TABLE = RESOURCES / "pathology_categories.tsv"

METADATA_COLUMNS = [
    "AufnahmeID", "AufnahmeTyp", "AufnahmeDatum", "Diagnose",
    "SprecherID", "Geburtsdatum", "Geschlecht", "Pathologien",
]
# An optional metadata column with the phrase recording's path, relative to the data root.
FILE_COLUMN = "file"
SEXES = {"w": "female", "m": "male"}
STATUSES = {"n": "healthy", "p": "pathological"}
PHRASE_FILE = re.compile(r"^(\d+)-phrase\.(nsp|wav|flac)$", re.IGNORECASE)
# sbvoicedb's repaired copy of an archive file, written beside the original.
FIXED_PHRASE_FILE = re.compile(r"^(\d+)-phrase-fixed\.nsp$", re.IGNORECASE)
CATALOG_COLUMNS = [
    "session_id", "speaker_id", "sex", "age", "recorded", "pathologies", "status", "category",
    "source", "repair", "duration_s", "sample_rate", "channels", "clipped_share",
]
# An empty catalog names this many of the commonest exclusion reasons.
COMMONEST_REASONS = 3


def default_metadata():
    """The official session table shipped inside the sbvoicedb package."""
    import sbvoicedb

    return Path(sbvoicedb.__file__).with_name("summary.csv")


def normalise_label(label):
    """A spelling-insensitive key: Unicode NFC, case, umlauts (ö = oe), ß, separators."""
    text = unicodedata.normalize("NFC", str(label)).casefold().strip()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    text = re.sub(r"['’]", "", text)
    return re.sub(r"[\s_\-]+", " ", text)


def read_categories(path=CATEGORIES_TABLE):
    """{normalised spelling: row} for every label, English name and alias in the table."""
    table = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False)
    lookup = {}
    for row in table.to_dict("records"):
        spellings = [row["label_de"], row["label_en"], *filter(None, row["aliases"].split("|"))]
        for spelling in spellings:
            lookup[normalise_label(spelling)] = row
    return lookup


def read_metadata(path):
    """The session table; a clear error names any missing official column."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    table.columns = [c.strip() for c in table.columns]
    missing = [c for c in METADATA_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"{path}: the session table lacks column(s) {', '.join(missing)}; "
            f"expected the official SVD columns {', '.join(METADATA_COLUMNS)}"
        )
    return table


def _parse_date(text):
    return pd.to_datetime(text.strip() or None, errors="coerce", format="%Y-%m-%d")


def _session_row(raw, categories, scheme, mixed_labels):
    """(row, None) for a usable session, or (None, reason)."""
    try:
        session_id = int(raw["AufnahmeID"])
        speaker_id = int(raw["SprecherID"])
    except ValueError:
        return None, f"session or speaker id is not a number ({raw['AufnahmeID']!r}, {raw['SprecherID']!r})"
    sex = SEXES.get(raw["Geschlecht"].strip().lower())
    if sex is None:
        return None, f"sex missing or unknown ({raw['Geschlecht']!r}; expected w or m)"
    status = STATUSES.get(raw["AufnahmeTyp"].strip().lower())
    if status is None:
        return None, f"recording type missing or unknown ({raw['AufnahmeTyp']!r}; expected n or p)"
    labels = [part.strip() for part in raw["Pathologien"].split(",") if part.strip()]
    known = []
    for label in labels:
        entry = categories.get(normalise_label(label))
        if entry is None:
            return None, f"unknown pathology label {label!r} (not in resources/pathology_categories.tsv)"
        known.append(entry)
    if status == "healthy" and known:
        return None, f"marked healthy (n) but has pathology labels {labels}"
    if status == "pathological" and not known:
        return None, "marked pathological (p) but has no pathology label"
    if status == "healthy":
        category = "healthy"
    else:
        kinds = {entry[scheme] for entry in known}
        if len(kinds) > 1 and mixed_labels == "exclude":
            return None, f"labels of both kinds under the {scheme} scheme: {labels}"
        category = "organic" if "organic" in kinds else "non-organic"
    recorded = _parse_date(raw["AufnahmeDatum"])
    born = _parse_date(raw["Geburtsdatum"])
    age = (recorded - born).days / 365.25 if not (pd.isna(recorded) or pd.isna(born)) else np.nan
    row = {
        "session_id": session_id,
        "speaker_id": speaker_id,
        "sex": sex,
        "age": age,
        "recorded": recorded,
        "pathologies": [entry["label_de"] for entry in known],
        "status": status,
        "category": category,
    }
    return row, None


def sessions_from_metadata(
    metadata,
    sessions="first_per_speaker",
    category_scheme="huckvale",
    mixed_labels="organic",
    available=None,
    file_problems=None,
    categories_path=CATEGORIES_TABLE,
):
    """Usable sessions of a session table, and the excluded ones with their reasons.

    `metadata` is a path or a table in the official columns. `available`, when given, is the
    set of session ids that have a usable recording; with `first_per_speaker` a speaker is
    then represented by their earliest session that has one. The others are excluded with
    their reason from `file_problems` ({session_id: reason}) or as having no recording.

    The earliest session is the one with the earliest recording date (session id breaks
    ties; a missing date sorts last); its label is the speaker's, as in the study (1002
    pathological, 851 healthy speakers on the full table). A speaker recorded healthy in one
    session and pathological in another thus takes the first session's label; with
    `sessions="all"` each session keeps its own. Missing birth or recording dates leave
    `age` empty (NaN).

    Returns (sessions, excluded): sessions has the catalog's metadata columns; excluded has
    session_id and reason."""
    table = metadata if isinstance(metadata, pd.DataFrame) else read_metadata(metadata)
    categories = read_categories(categories_path)
    rows, excluded = [], []
    for raw in table.to_dict("records"):
        row, reason = _session_row(raw, categories, category_scheme, mixed_labels)
        if reason:
            excluded.append({"session_id": raw["AufnahmeID"], "reason": reason})
        else:
            rows.append(row)
    usable = pd.DataFrame(rows, columns=CATALOG_COLUMNS[:8])

    duplicated = usable["session_id"].duplicated(keep=False)
    for session_id in usable.loc[duplicated, "session_id"].unique():
        excluded.append({"session_id": session_id, "reason": "session id occurs more than once in the session table"})
    usable = usable.loc[~duplicated]

    if available is not None:
        has_audio = usable["session_id"].isin(available)
        for session_id in usable.loc[~has_audio, "session_id"]:
            reason = (file_problems or {}).get(session_id, "no phrase recording found under the data root")
            excluded.append({"session_id": session_id, "reason": reason})
        usable = usable.loc[has_audio]

    if sessions == "first_per_speaker":
        # A missing recording date (NaT) sorts last.
        order = usable.sort_values(["speaker_id", "recorded", "session_id"])
        later = order["speaker_id"].duplicated(keep="first")
        for row in order.loc[later].itertuples():
            excluded.append({
                "session_id": row.session_id,
                "reason": f"later session of speaker {row.speaker_id} (catalog.sessions = first_per_speaker)",
            })
        usable = order.loc[~later, usable.columns]
    elif sessions != "all":
        raise ValueError(f"catalog.sessions must be first_per_speaker or all, not {sessions!r}")

    usable = usable.sort_values("session_id").reset_index(drop=True)
    usable["session_id"] = usable["session_id"].astype("int64")
    usable["speaker_id"] = usable["speaker_id"].astype("int64")
    excluded = pd.DataFrame(excluded, columns=["session_id", "reason"])
    return usable, excluded


def _inside(root, path):
    root = Path(os.path.realpath(root))
    return Path(os.path.realpath(path)).is_relative_to(root)


def find_recordings(root, metadata):
    """{session_id: path} of the phrase recordings under `root`, and {session_id: reason}.

    Searches the official archive layout (data/<s>/sentnces/<s>-phrase.nsp), the legacy flat
    export (<s>-phrase.wav) and any folder nesting below the root. A repaired copy that
    sbvoicedb wrote beside an original (<s>-phrase-fixed.nsp) is used only where the original
    is missing. Where the table has a `file` column, that path (relative to the root) is used
    and must stay inside the root."""
    root = Path(root)
    found, problems, fixed = {}, {}, {}
    if FILE_COLUMN in metadata.columns:
        for raw in metadata.to_dict("records"):
            relative = raw[FILE_COLUMN].strip()
            if not relative:
                continue
            session_id = int(raw["AufnahmeID"])
            path = root / relative
            if Path(relative).is_absolute() or not _inside(root, path):
                problems[session_id] = f"file path {relative!r} leaves the data root {root}"
            else:
                found[session_id] = path
        return found, problems
    for folder, _, files in os.walk(root):
        for name in files:
            match = PHRASE_FILE.match(name)
            if not match:
                copy = FIXED_PHRASE_FILE.match(name)
                if copy:
                    fixed.setdefault(int(copy.group(1)), []).append(Path(folder, name))
                continue
            session_id = int(match.group(1))
            path = Path(folder, name)
            if not _inside(root, path):
                problems[session_id] = f"{path} links outside the data root {root}"
            elif session_id in found:
                problems[session_id] = f"two phrase recordings: {found[session_id]} and {path}"
            else:
                found[session_id] = path
    for session_id, copies in fixed.items():
        if session_id in found or session_id in problems:
            log.info("session %s: %s ignored (sbvoicedb's repaired copy; the original is read)", session_id, copies[0])
        elif len(copies) > 1:
            problems[session_id] = f"two repaired phrase recordings: {copies[0]} and {copies[1]}"
        elif not _inside(root, copies[0]):
            problems[session_id] = f"{copies[0]} links outside the data root {root}"
        else:
            found[session_id] = copies[0]
    for session_id in problems:
        found.pop(session_id, None)
    return found, problems


def build_catalog(
    metadata_csv,
    corpus_root,
    sessions_parquet,
    excluded_tsv,
    sessions="first_per_speaker",
    category_scheme="huckvale",
    mixed_labels="organic",
    min_duration_s=0.5,
    max_duration_s=30.0,
    on_bad_input="exclude",
    known_defects="repair",
    defects_table=DEFECTS_TABLE,
):
    """Write the catalog (Parquet and TSV) and the exclusion table for a corpus.

    Every file is read once and checked (empty, corrupt, zero-length, silent, NaN/Inf, too
    short or long, an electroglottograph signal instead of the voice); with
    on_bad_input="fail" the first bad item raises instead. The archive's known defects
    (`defects_table`) are repaired in memory or, with known_defects="exclude", excluded
    (svd_explain.defects). An empty catalog raises, naming the commonest reasons."""
    metadata = read_metadata(metadata_csv)
    files, file_problems = find_recordings(corpus_root, metadata)
    defects = read_known_defects(defects_table)
    infos = {}
    for session_id, path in sorted(files.items()):
        try:
            voice = phrase_voice(session_id, path, defects, known_defects)
            info = check_recording(voice.samples, voice.rate, min_duration_s, max_duration_s)
            infos[session_id] = (voice.path, info, voice.repair)
            if voice.note:
                log.warning("session %s: %s", session_id, voice.note)
            elif voice.repair != "none":
                log.warning("session %s: %s", session_id, REPAIRS[voice.repair])
        except BadRecording as error:
            file_problems[session_id] = f"{path.name}: {error}"

    table, excluded = sessions_from_metadata(
        metadata, sessions, category_scheme, mixed_labels, available=set(infos), file_problems=file_problems
    )
    excluded = excluded.to_dict("records")
    listed = set(pd.to_numeric(metadata["AufnahmeID"], errors="coerce").dropna().astype(int))
    for session_id in sorted((set(files) | set(file_problems)) - listed):
        reason = file_problems.get(session_id, "")
        excluded.append({"session_id": session_id, "reason": f"recording has no row in the session table {reason}".strip()})

    excluded = pd.DataFrame(excluded, columns=["session_id", "reason"])
    if on_bad_input == "fail" and not excluded.empty:
        bad = excluded.loc[~excluded["reason"].str.startswith("later session of speaker")]
        if not bad.empty:
            first = bad.iloc[0]
            raise ValueError(f"bad input (catalog.on_bad_input = fail): session {first.session_id}: {first.reason}")

    if table.empty:
        # The job fails and Snakemake removes its outputs: the log keeps every exclusion.
        for row in excluded.itertuples():
            log.error("excluded session %s: %s", row.session_id, row.reason)
        raise ValueError(empty_catalog_message(excluded, corpus_root))
    table["source"] = [str(infos[s][0]) for s in table["session_id"]]
    table["repair"] = [infos[s][2] for s in table["session_id"]]
    table["duration_s"] = [infos[s][1].duration_s for s in table["session_id"]]
    table["sample_rate"] = [infos[s][1].sample_rate for s in table["session_id"]]
    table["channels"] = [infos[s][1].channels for s in table["session_id"]]
    table["clipped_share"] = [infos[s][1].clipped_share for s in table["session_id"]]
    for row in table.loc[table["clipped_share"] > 0.001].itertuples():
        log.warning("session %s: %.1f%% of samples clipped (kept)", row.session_id, 100 * row.clipped_share)

    Path(sessions_parquet).parent.mkdir(parents=True, exist_ok=True)
    table[CATALOG_COLUMNS].to_parquet(sessions_parquet, index=False)
    table[CATALOG_COLUMNS].to_csv(Path(sessions_parquet).with_suffix(".tsv"), sep="\t", index=False)
    excluded.sort_values("session_id", key=lambda s: pd.to_numeric(s, errors="coerce"), kind="stable").to_csv(
        excluded_tsv, sep="\t", index=False
    )
    log.info("catalog: %d sessions, %d excluded", len(table), len(excluded))
    return table, excluded


def empty_catalog_message(excluded, corpus_root):
    """Why no session is left: the commonest exclusion reasons, with counts (file names and
    numbers are folded, so that one reason repeated per file counts as one)."""
    generic = excluded["reason"].str.replace(r"^\S+-phrase\S*: ", "", regex=True)
    generic = generic.str.replace(r"\d+(\.\d+)?", "N", regex=True)
    counts = generic.value_counts().head(COMMONEST_REASONS)
    reasons = "; ".join(f"{reason} ({count})" for reason, count in counts.items())
    return (
        f"the catalog is empty: all {len(excluded)} sessions were excluded (corpus {corpus_root}); "
        f"the commonest reasons: {reasons or 'none'}; this job's log lists every exclusion"
    )
