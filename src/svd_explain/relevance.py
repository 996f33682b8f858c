"""The study's claims about the relevance maps, as numbers (test recordings only).

Every map is first normalised to sum 1 over its cells (cells no patch covers, NaN in the
rollout file, are left out), so that each recording weighs the same. Of a signed map (phone
occlusion, Integrated Gradients, the class-specific attention relevance) only the positive part
counts, the evidence for the explained class, as in the explanation checks; a map with no
positive cell, or with no value at all (phone occlusion of a recording without a usable
alignment), says nothing here: it is left out of every statistic and the log counts it.

- Phones: the relevance of each frame (its column of the normalised map) times the number of
  frames, so that 1 is the recording's average frame; per phone occurrence the mean over the
  frames whose centre lies inside it; per recording the mean over occurrences of the same
  (word, position in word, phone); then the mean over recordings, per model and class, with a
  speaker-bootstrap interval. Recordings without an alignment are left out (listed, with the
  reason, in a table of their own). Does the study's /ɔ/ and /e s i n/ stand out? See `rank`.
- Spread: how concentrated a map is: its entropy divided by the log of its number of cells (1 =
  uniform), and the share of the time–frequency area that holds 50 % and 80 % of the relevance
  (the fewest, most relevant cells). Beside them, the share of the map's mass that fell on the
  model's padding frames (`padding_share`, from the map file), which every statistic here
  leaves out: the maps are cropped to the recording. Freeze and finetuned are compared with the
  speaker as the unit (each speaker's mean over their test recordings): the Wilcoxon
  signed-rank test, the rank-biserial correlation, and the mean difference and the
  standardised mean difference (d_z) with speaker-bootstrap BCa intervals.
- Energy: per recording, the Spearman correlation between relevance and log-mel power over the
  cells, and the share of the 10 % most relevant cells that are among the 10 % most powerful
  (0.1 by chance)."""
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from svd_explain.align.status import figure_note, phones_usable, read_status
from svd_explain.frames import frame_centres
from svd_explain.intervals import bootstrap_interval
from svd_explain.labels import CLASS_NAMES
from svd_explain.textgrids import read_alignment

log = logging.getLogger(__name__)

AREA_SHARES = (0.5, 0.8)
TOP_SHARE = 0.1
SPREAD_MEASURES = ("entropy", "area_50", "area_80")
# The measures of the spread table: the spread measures and the mass on padding.
MAP_MEASURES = (*SPREAD_MEASURES, "padding_share")
# The phones the study found most relevant: /ɔ/ in "Morgen" and the stretch /e s i n/ of
# "geht es Ihnen", as (word, phone, which occurrence of the phone in the word): the first /n/
# of "Ihnen" only.
STUDY_PHONES = {("morgen", "ɔ", 0), ("geht", "eː", 0), ("es", "ɛ", 0), ("es", "s", 0), ("ihnen", "iː", 0), ("ihnen", "n", 0)}


# --- reading --------------------------------------------------------------------------------

def map_sessions(npz_path):
    """Session ids (int) with a map in a rollout file, sorted."""
    with np.load(npz_path, allow_pickle=False) as maps:
        return sorted({int(name.split(".")[0]) for name in maps.files if name.endswith(".relevance")})


def recordings_with_maps(split_path, npz_paths):
    """The test rows of the split table (session_id, speaker_id, label), each with a map in
    every rollout file; a test recording missing from one is an error."""
    split = pd.read_parquet(split_path, columns=["session_id", "speaker_id", "split", "label"])
    test = split[split["split"] == "test"].sort_values("session_id", ignore_index=True)
    if test.empty:
        raise ValueError(f"{split_path}: no test recordings")
    for path in npz_paths:
        missing = sorted(set(test["session_id"]) - set(map_sessions(path)))
        if missing:
            raise KeyError(f"{path}: no relevance map for {len(missing)} test recording(s), e.g. {missing[:5]}")
    return test


def iter_maps(npz_path, sessions):
    """Yield (session_id, relevance, fbank) for `sessions` from a rollout file."""
    with np.load(npz_path, allow_pickle=False) as maps:
        for session in sessions:
            yield session, maps[f"{session}.relevance"].astype(np.float64), maps[f"{session}.fbank"]


def unusable_map_reason(relevance) -> str | None:
    """Why a map cannot enter the statistics (None when it can)."""
    if not np.isfinite(relevance).any():
        return "map without values"
    if not (relevance > 0).any():
        return "map without positive relevance"
    return None


def iter_usable_maps(npz_path, sessions, model, skipped: list):
    """iter_maps without the maps unusable_map_reason rejects; each of those is appended to
    `skipped` as {model, session_id, reason}."""
    for session, relevance, fbank in iter_maps(npz_path, sessions):
        reason = unusable_map_reason(relevance)
        if reason is None:
            yield session, relevance, fbank
        else:
            skipped.append({"model": model, "session_id": session, "reason": reason})


def log_skipped(skipped, statistic):
    for (model, reason), group in pd.DataFrame(skipped, columns=["model", "session_id", "reason"]).groupby(
            ["model", "reason"]):
        log.warning("%s: %d test recording(s) left out of the %s statistics: %s, e.g. %s",
                    model, len(group), statistic, reason, group["session_id"].tolist()[:5])


def padding_shares(npz_path, sessions):
    """{session: share of the uncropped map's mass on padding frames} from a map file."""
    with np.load(npz_path, allow_pickle=False) as maps:
        missing = [s for s in sessions if f"{s}.padding_share" not in maps.files]
        if missing:
            raise KeyError(f"{npz_path}: no padding_share for {len(missing)} recording(s), e.g. {missing[:5]} "
                           "(a map file from an older version: rerun the rollout)")
        return {session: float(maps[f"{session}.padding_share"]) for session in sessions}


def normalised(relevance):
    """The map's positive part divided by its sum over covered cells (NaN cells stay NaN)."""
    positive = np.where(relevance < 0, 0.0, relevance)
    total = np.nansum(positive)
    if not np.isfinite(total) or total <= 0:
        raise ValueError("relevance map without positive mass")
    return positive / total


# --- phones ---------------------------------------------------------------------------------

def frame_relevance(relevance):
    """Relative relevance per frame of a map (mel bins × frames): mean 1 over the frames."""
    per_frame = np.nansum(normalised(relevance), axis=0)
    return per_frame * per_frame.size


def phone_occurrences(words, phones):
    """(word, position in word, phone, start, end) per phone; the word is the one holding the
    phone's midpoint ("" outside every word), lower case."""
    rows, positions = [], {}
    for phone in phones:
        middle = (phone.start + phone.end) / 2
        word = next((w for w in words if w.start <= middle < w.end), None)
        name = word.label.lower() if word else ""
        key = (word.start, word.end) if word else None
        position = positions.get(key, 0)
        positions[key] = position + 1
        rows.append((name, position, phone.label, phone.start, phone.end))
    return rows


def phone_relevance(relevance, words, phones):
    """Per phone occurrence of one recording: word, position, phone, start (s), frames and the
    mean relative frame relevance; phones shorter than one frame hop hold no frame centre and are
    dropped."""
    per_frame = frame_relevance(relevance)
    centres = frame_centres(per_frame.size)
    rows = []
    for word, position, phone, start, end in phone_occurrences(words, phones):
        inside = (centres >= start) & (centres < end)
        if inside.any():
            rows.append(
                {"word": word, "position": position, "phone": phone, "start": start,
                 "n_frames": int(inside.sum()), "relevance": float(per_frame[inside].mean())}
            )
    return rows


def speaker_bootstrap_interval(values, speakers, resamples, confidence, seed):
    """BCa interval of the mean of `values` (one per recording), resampling speakers with
    replacement (intervals.bootstrap_interval); NaN with fewer than 3 speakers."""
    speakers = np.asarray(speakers)
    if len(np.unique(speakers)) < 3:
        return np.nan, np.nan
    values = np.asarray(values, dtype=np.float64)
    interval, _ = bootstrap_interval(lambda weights: weights @ values / weights.sum(axis=1), speakers,
                                     resamples=resamples, confidence=confidence, seed=seed)
    return interval.low, interval.high


def is_study_phone(word, position, phone, keys):
    """Whether (word, position, phone) is one of STUDY_PHONES; `keys` are all the (word,
    position, phone) keys, to count earlier occurrences of the phone in the word."""
    earlier = sum(1 for w, p, ph in keys if w == word and ph == phone and p < position)
    return (word, phone, earlier) in STUDY_PHONES


def sentence_order(occurrences):
    """(word, position, phone) keys in the order they are spoken (median start time)."""
    return occurrences.groupby(["word", "position", "phone"])["start"].median().sort_values().index.tolist()


def phone_table(occurrences, resamples=1000, confidence=0.95, seed=0):
    """Aggregate per-occurrence rows (model, session_id, speaker_id, class, word, position,
    phone, start, n_frames, relevance) to the phone table, in sentence order; `rank` 1 = the
    most relevant phone of the model and class, `sentence_index` the place of (word, position,
    phone) in the sentence over all recordings (`sentence_order`), which the figure follows."""
    keys = ["model", "class", "word", "position", "phone"]
    per_recording = (
        occurrences.groupby(keys + ["session_id", "speaker_id"], sort=False)
        .agg(relevance=("relevance", "mean"), n_frames=("n_frames", "sum"))
        .reset_index()
    )
    rows = []
    for index, (key, group) in enumerate(per_recording.groupby(keys, sort=False)):
        low, high = speaker_bootstrap_interval(group["relevance"], group["speaker_id"], resamples, confidence,
                                               [seed, index])
        rows.append({**dict(zip(keys, key)), "mean_relevance": group["relevance"].mean(), "ci_low": low,
                     "ci_high": high, "n_frames": int(group["n_frames"].sum()), "n_recordings": len(group)})
    table = pd.DataFrame(rows)
    table["rank"] = table.groupby(["model", "class"])["mean_relevance"].rank(ascending=False, method="min").astype(int)
    order = {key: index for index, key in enumerate(sentence_order(occurrences))}
    table["sentence_index"] = [order[key] for key in zip(table["word"], table["position"], table["phone"])]
    return table.sort_values(["model", "class", "sentence_index"]).reset_index(drop=True)


def read_phone_table(table_path):
    """A phone table written by `write_phone_relevance` (the word "" outside every word stays "")."""
    return pd.read_csv(table_path, sep="\t", dtype={"word": str, "phone": str}, keep_default_na=False,
                       na_values={column: [""] for column in ("mean_relevance", "ci_low", "ci_high")})


def table_sentence_order(table):
    """The (word, position, phone) keys of a phone table in the order they are spoken."""
    keys = table.drop_duplicates("sentence_index").sort_values("sentence_index")
    return list(zip(keys["word"], keys["position"], keys["phone"]))


def write_phone_relevance(models, npz_paths, split_path, alignment_dir, status_dir, table_path,
                          excluded_path, resamples=1000, confidence=0.95, seed=0):
    """phones.tsv and the table of test recordings left out (no alignment, or one the guard
    found doubtful)."""
    test = recordings_with_maps(split_path, npz_paths)
    aligned, excluded = {}, []
    for session in test["session_id"]:
        status = read_status(Path(status_dir, f"{session}.json"))
        if phones_usable(status):
            words, phones, _ = read_alignment(Path(alignment_dir, f"{session}.TextGrid"))
            aligned[session] = (words, phones)
        else:
            excluded.append({"session_id": session, "reason": figure_note(status)})
    if excluded:
        log.warning("%d of %d test recordings have no alignment or a doubtful one and are left out of the phone statistics",
                    len(excluded), len(test))
    if not aligned:
        raise ValueError("no aligned test recording: no phone statistics")
    meta = test.set_index("session_id")
    rows, frameless, skipped = [], 0, []
    for model, npz_path in zip(models, npz_paths, strict=True):
        for session, relevance, _ in iter_usable_maps(npz_path, sorted(aligned), model, skipped):
            phone_rows = phone_relevance(relevance, *aligned[session])
            frameless += len(aligned[session][1]) - len(phone_rows)
            for row in phone_rows:
                rows.append({"model": model, "session_id": session, "speaker_id": meta.at[session, "speaker_id"],
                             "class": CLASS_NAMES[int(meta.at[session, "label"])], **row})
    log_skipped(skipped, "phone")
    excluded += [{"session_id": row["session_id"], "reason": f"{row['model']}: {row['reason']}"} for row in skipped]
    if frameless:
        log.info("%d phone occurrences shorter than a frame hop hold no frame and are left out", frameless // len(models))
    occurrences = pd.DataFrame(rows)
    table = phone_table(occurrences, resamples, confidence, seed)
    for path in (table_path, excluded_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(table_path, sep="\t", index=False, float_format="%.5f")
    pd.DataFrame(excluded, columns=["session_id", "reason"]).to_csv(excluded_path, sep="\t", index=False)
    for (model, cls), rows in table.groupby(["model", "class"]):
        keys = list(zip(rows["word"], rows["position"], rows["phone"]))
        study = rows[[is_study_phone(*key, keys) for key in keys]]
        log.info("%s, %s: the study's phones rank %s of %d (relevance %s)", model, cls,
                 study["rank"].tolist(), len(rows), np.round(study["mean_relevance"], 3).tolist())


# --- spread ---------------------------------------------------------------------------------

def spread_measures(relevance):
    """Normalised entropy and the area shares holding 50 % and 80 % of a map's relevance."""
    values = normalised(relevance)
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    entropy = float(-(positive * np.log(positive)).sum() / np.log(values.size))
    cumulative = np.cumsum(np.sort(values)[::-1])
    areas = {
        f"area_{round(share * 100)}": float((np.searchsorted(cumulative, share) + 1) / values.size)
        for share in AREA_SHARES
    }
    return {"entropy": entropy, **areas}


def rank_biserial(differences):
    """Matched-pairs rank-biserial correlation of paired differences (zeros dropped):
    (W+ − W−) / (W+ + W−), from −1 to 1."""
    differences = np.asarray(differences, float)
    differences = differences[differences != 0]
    if differences.size == 0:
        return np.nan
    ranks = stats.rankdata(np.abs(differences))
    positive, negative = ranks[differences > 0].sum(), ranks[differences < 0].sum()
    return float((positive - negative) / (positive + negative))


def _summary(values):
    return {"n": int(values.size), "mean": values.mean(), "median": np.median(values),
            "q25": np.quantile(values, 0.25), "q75": np.quantile(values, 0.75)}


def paired_speaker_differences(per_recording, pair, measure):
    """Per speaker: the mean of `measure` over their recordings under pair[1] minus the same
    under pair[0] (speakers with both), as a Series indexed by speaker_id."""
    means = per_recording.groupby(["speaker_id", "model"])[measure].mean().unstack("model")
    means = means.dropna(subset=list(pair))
    return means[pair[1]] - means[pair[0]]


def standardised_mean_difference(differences) -> float:
    """d_z: the mean paired difference over its standard deviation (NaN when they are all equal)."""
    differences = np.asarray(differences, float)
    sd = differences.std(ddof=1) if differences.size > 1 else 0.0
    return float(differences.mean() / sd) if sd > 0 else np.nan


def _weighted_d_z(weights, differences):
    total = weights.sum(axis=1)
    mean = weights @ differences / total
    variance = (weights @ differences**2 / total - mean**2) * total / (total - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(variance > 0, mean / np.sqrt(variance), np.nan)


def spread_table(per_recording, pair, resamples=1000, confidence=0.95, seed=0):
    """Per measure of MAP_MEASURES: per model the summary over recordings (unit "recording");
    then the paired comparison pair[1] − pair[0] with the speaker as unit (unit "speaker"): n
    speakers, summary of their differences, Wilcoxon signed-rank test (two-sided),
    rank-biserial correlation, the mean difference relative to pair[0]'s mean, and the mean
    difference and d_z with speaker-bootstrap BCa intervals (NaN with fewer than 3 speakers,
    or when every difference is the same)."""
    rows = []
    for index, measure in enumerate(MAP_MEASURES):
        for model, group in per_recording.groupby("model", sort=False):
            rows.append({"measure": measure, "model": model, "unit": "recording", **_summary(group[measure].to_numpy())})
        differences = paired_speaker_differences(per_recording, pair, measure)
        values = differences.to_numpy()
        test = stats.wilcoxon(values) if np.any(values != 0) else None
        row = {"measure": measure, "model": f"{pair[1]} − {pair[0]}", "unit": "speaker", **_summary(values),
               "wilcoxon_statistic": test.statistic if test else np.nan, "p_value": test.pvalue if test else np.nan,
               "rank_biserial": rank_biserial(values),
               "relative_diff": values.mean() / per_recording.loc[per_recording["model"] == pair[0], measure].mean(),
               "diff_lo": np.nan, "diff_hi": np.nan, "d_z": standardised_mean_difference(values),
               "d_z_lo": np.nan, "d_z_hi": np.nan}
        if values.size >= 3 and np.ptp(values) > 0:
            speakers = differences.index.to_numpy()
            mean_interval, _ = bootstrap_interval(lambda w: w @ values / w.sum(axis=1), speakers,
                                                  resamples=resamples, confidence=confidence, seed=[seed, index, 0])
            d_z_interval, _ = bootstrap_interval(lambda w: _weighted_d_z(w, values), speakers,
                                                 resamples=resamples, confidence=confidence, seed=[seed, index, 1])
            row.update(diff_lo=mean_interval.low, diff_hi=mean_interval.high,
                       d_z_lo=d_z_interval.low, d_z_hi=d_z_interval.high)
        rows.append(row)
    return pd.DataFrame(rows)


def write_spread(models, npz_paths, split_path, pair, table_path, recordings_path, resamples=1000,
                 confidence=0.95, seed=0):
    """spread.tsv and the per-recording values (parquet: model, session_id, MAP_MEASURES,
    speaker_id, label)."""
    missing = set(pair) - set(models)
    if missing:
        raise ValueError(f"the compared models {sorted(missing)} have no rollout")
    test = recordings_with_maps(split_path, npz_paths)
    rows, skipped = [], []
    for model, npz_path in zip(models, npz_paths, strict=True):
        padding = padding_shares(npz_path, test["session_id"])
        for session, relevance, _ in iter_usable_maps(npz_path, test["session_id"], model, skipped):
            rows.append({"model": model, "session_id": session, **spread_measures(relevance),
                         "padding_share": padding[session]})
    log_skipped(skipped, "spread")
    per_recording = pd.DataFrame(rows).merge(test[["session_id", "speaker_id", "label"]], on="session_id")
    table = spread_table(per_recording, pair, resamples, confidence, seed)
    for path in (table_path, recordings_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(table_path, sep="\t", index=False, float_format="%.5g")
    per_recording.to_parquet(recordings_path, index=False)
    log.info("spread:\n%s", table.to_string())


# --- energy ---------------------------------------------------------------------------------

def energy_measures(relevance, fbank):
    """Spearman correlation of relevance with log-mel power over the covered cells, and the
    share of the TOP_SHARE most relevant cells among the TOP_SHARE most powerful."""
    covered = np.isfinite(relevance)
    relevance, power = relevance[covered], np.asarray(fbank, float)[covered]
    count = max(1, round(TOP_SHARE * relevance.size))
    top_relevance = np.argpartition(relevance, -count)[-count:]
    top_power = np.argpartition(power, -count)[-count:]
    return {
        "spearman": float(stats.spearmanr(relevance, power).statistic),
        "top_overlap": len(np.intersect1d(top_relevance, top_power)) / count,
    }


def energy_table(per_recording, resamples=1000, confidence=0.95, seed=0):
    """Per model: the mean (speaker-bootstrap interval), median and quartiles of the Spearman
    correlation, the share of recordings where it is positive, and the mean top-cell overlap."""
    rows = []
    for index, (model, group) in enumerate(per_recording.groupby("model", sort=False)):
        rho = group["spearman"].to_numpy()
        low, high = speaker_bootstrap_interval(rho, group["speaker_id"], resamples, confidence, [seed, index])
        rows.append({"model": model, "n": rho.size, "spearman_mean": rho.mean(), "spearman_ci_low": low,
                     "spearman_ci_high": high, "spearman_median": np.median(rho),
                     "spearman_q25": np.quantile(rho, 0.25), "spearman_q75": np.quantile(rho, 0.75),
                     "share_positive": float((rho > 0).mean()), "top_overlap_mean": group["top_overlap"].mean(),
                     "top_overlap_chance": TOP_SHARE})
    return pd.DataFrame(rows)


def write_energy(models, npz_paths, split_path, table_path, recordings_path, resamples=1000, confidence=0.95,
                 seed=0):
    """energy.tsv and the per-recording values (parquet)."""
    test = recordings_with_maps(split_path, npz_paths)
    rows, skipped = [], []
    for model, npz_path in zip(models, npz_paths, strict=True):
        for session, relevance, fbank in iter_usable_maps(npz_path, test["session_id"], model, skipped):
            rows.append({"model": model, "session_id": session, **energy_measures(relevance, fbank)})
    log_skipped(skipped, "energy")
    per_recording = pd.DataFrame(rows).merge(test[["session_id", "speaker_id", "label"]], on="session_id")
    table = energy_table(per_recording, resamples, confidence, seed)
    for path in (table_path, recordings_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(table_path, sep="\t", index=False, float_format="%.5g")
    per_recording.to_parquet(recordings_path, index=False)
    log.info("energy:\n%s", table.to_string())


