"""The phone occlusion effects (occlusion.py) as evidence about the study's claims: the mean
effect of each phone occurrence of the phrase on the log-odds of "pathological", with
speaker-bootstrap 95 % intervals, its rank among the phrase's phones, and how sure that rank is.

The study found that both models favour /ɔ/ of "Morgen" and the stretch /e s i n/ of "es Ihnen"
(relevance.STUDY_PHONES). Here a phone "is among the top" when it ranks in the first TOP_K of
the phrase's phone occurrences by mean effect; each gets its rank with a bootstrap interval and
the share of the resamples in which it is among the top (near 1: the data say yes; near 0: no).

Input: the effect table the phone occlusion writes, one row per recording × phone occurrence
(columns session_id, speaker_id, label, word, position, phone, start, effect)."""
import numpy as np
import pandas as pd

from svd_explain.intervals import speaker_bootstrap_weights
from svd_explain.relevance import is_study_phone

TOP_K = 4
KEYS = ["word", "position", "phone"]
COLUMNS = ["word", "position", "phone", "study", "n_recordings", "mean_effect", "ci_low", "ci_high", "rank",
           "rank_low", "rank_high", "p_top"]


def effect_table(effects: pd.DataFrame, resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """The table of one model from its occlusion effects: one row per phone occurrence, in the
    order of the phrase. Each recording weighs one; the bootstrap resamples speakers (all
    recordings of a drawn speaker come along) and ranks the phones within every resample."""
    wide = effects.pivot_table(index=["session_id", "speaker_id"], columns=KEYS, values="effect", aggfunc="mean")
    order = effects.groupby(KEYS)["start"].median().sort_values().index
    wide = wide[order]
    values = wide.to_numpy()
    present = np.isfinite(values)
    filled = np.where(present, values, 0.0)
    weights = speaker_bootstrap_weights(wide.index.get_level_values("speaker_id").to_numpy(), resamples,
                                        np.random.default_rng(seed))
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = (weights @ filled) / (weights @ present)
    mean = np.nanmean(values, axis=0)
    rank = pd.Series(mean).rank(ascending=False, method="min").to_numpy().astype(int)
    ranks = pd.DataFrame(boot).rank(axis=1, ascending=False, method="min").to_numpy()
    alpha = (1 - confidence) / 2
    low, high = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
    rank_low, rank_high = np.nanquantile(ranks, [alpha, 1 - alpha], axis=0)
    keys = list(order)
    table = pd.DataFrame(keys, columns=KEYS)
    table["study"] = [is_study_phone(w, p, ph, keys) for w, p, ph in keys]
    table["n_recordings"] = present.sum(axis=0)
    table["mean_effect"], table["ci_low"], table["ci_high"] = mean, low, high
    table["rank"], table["rank_low"], table["rank_high"] = rank, rank_low.astype(int), rank_high.astype(int)
    table["p_top"] = (ranks <= TOP_K).mean(axis=0)
    return table[COLUMNS]


def write_phone_effects(models, effect_paths, table_path, resamples=1000, confidence=0.95, seed=0):
    """The phone effect table of every model (`effect_paths`: their occlusion effect tables, in
    the order of `models`) into `table_path` (TSV: model, then COLUMNS), in the order of the
    phrase."""
    tables = []
    for index, (model, path) in enumerate(zip(models, effect_paths, strict=True)):
        effects = pd.read_parquet(path)
        if effects.empty:
            continue
        tables.append(effect_table(effects, resamples, confidence, seed=[seed, index]).assign(model=model))
    table = pd.concat(tables, ignore_index=True)[["model", *COLUMNS]] if tables else pd.DataFrame(columns=["model", *COLUMNS])
    table.to_csv(table_path, sep="\t", index=False, float_format="%.4g")
    return table
