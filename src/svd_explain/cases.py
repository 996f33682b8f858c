"""The O / X / A / B cases of the test recordings (from the two study models' predictions at
their dev-chosen thresholds), and which recordings get a relevance figure."""
import logging
from pathlib import Path

import pandas as pd

from svd_explain.labels import PREDICTION_COLUMNS

log = logging.getLogger(__name__)

CASE_MEANINGS = {
    "O": "both models right",
    "X": "both models wrong",
    "A": "finetuned wrong, freeze right",
    "B": "finetuned right, freeze wrong",
}
CASES = {  # (freeze right, finetuned right) -> case
    (True, True): "O",
    (False, False): "X",
    (True, False): "A",
    (False, True): "B",
}


def case_table(freeze, finetuned):
    """The O / X / A / B case of every test recording from the two study models' predictions
    (tables with session_id, split, label, score, pred): O both right, X both wrong, A
    finetuned wrong / freeze right, B finetuned right / freeze wrong.

    Both must predict the same test sessions with the same labels, or ValueError."""
    tables = []
    for role, table in (("freeze", freeze), ("finetuned", finetuned)):
        missing = [c for c in PREDICTION_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"{role} predictions lack column(s) {missing}")
        test = table.loc[table["split"] == "test", ["session_id", "label", "score", "pred"]]
        tables.append(test.rename(columns={"score": f"{role}_score", "pred": f"{role}_pred", "label": f"{role}_label"}))
    both = tables[0].merge(tables[1], on="session_id", how="outer", indicator=True)
    if (both["_merge"] != "both").any():
        odd = both.loc[both["_merge"] != "both", "session_id"].tolist()
        raise ValueError(f"the two models' test predictions cover different sessions, e.g. {odd[:5]}")
    if both.empty:
        raise ValueError("no test predictions: no cases")
    if (both["freeze_label"] != both["finetuned_label"]).any():
        raise ValueError("the two models' test predictions disagree on labels")
    both["label"] = both["freeze_label"].astype("int64")
    freeze_right = both["freeze_pred"] == both["label"]
    finetuned_right = both["finetuned_pred"] == both["label"]
    both["case"] = [CASES[(f, t)] for f, t in zip(freeze_right, finetuned_right)]
    columns = ["session_id", "label", "case", "freeze_score", "freeze_pred", "finetuned_score", "finetuned_pred"]
    return both[columns].sort_values("session_id").reset_index(drop=True)


def write_cases(freeze_parquet, finetuned_parquet, cases_tsv, freeze_model, finetuned_model):
    """Write `case_table` with the two models' names as columns freeze_model / finetuned_model."""
    table = case_table(pd.read_parquet(freeze_parquet), pd.read_parquet(finetuned_parquet))
    table.insert(3, "freeze_model", freeze_model)
    table.insert(6, "finetuned_model", finetuned_model)
    Path(cases_tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(cases_tsv, sep="\t", index=False, float_format="%.6f")
    log.info("cases: %s", table["case"].value_counts().to_dict())
    return table


def select_figure_sessions(cases_path, out_path, select="all", n_per_case=3, seed=0):
    """Write the sessions to draw (session_id, case): every test recording in cases.tsv, or
    up to `n_per_case` of each case drawn at random with `seed`."""
    cases = pd.read_csv(cases_path, sep="\t", usecols=["session_id", "case"])
    unknown = set(cases["case"]) - set(CASE_MEANINGS)
    if unknown:
        raise ValueError(f"{cases_path}: unknown case(s) {sorted(unknown)}")
    if select == "per_case":
        cases = cases.sample(frac=1.0, random_state=seed).groupby("case").head(n_per_case)
    elif select != "all":
        raise ValueError(f"select must be all or per_case, not {select!r}")
    chosen = cases.sort_values("session_id")
    log.info("%d figures: %s", len(chosen), chosen["case"].value_counts().sort_index().to_dict())
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    chosen.to_csv(out_path, sep="\t", index=False)
