"""Figures of the explanation checks, drawn from their tables (so that a figure setting reruns
figures only): matplotlib and pandas, no torch."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MARKERS = "osD^v<>"


def _models(table):
    return list(dict.fromkeys(table["model"]))


def _methods(table):
    return list(dict.fromkeys(table["method"]))


def localisation_figure(table_path, out_path, dpi=150):
    """Mean lift and per-frame AUC of every explainer and model, with their intervals."""
    table = pd.read_csv(table_path, sep="\t")
    methods, models = _methods(table), _models(table)
    fig, axes = plt.subplots(1, 2, figsize=(9, 1.4 + 0.5 * len(methods)), sharey=True, layout="constrained")
    for ax, measure, chance, label in ((axes[0], "lift", 1.0, "lift (relevance share on the cue / cue's share of frames)"),
                                       (axes[1], "auc", 0.5, "per-frame ROC AUC against the cue")):
        for m, model in enumerate(models):
            rows = table[table["model"] == model].set_index("method").reindex(methods)
            y = np.arange(len(methods)) + (m - (len(models) - 1) / 2) * 0.25
            error = np.vstack([rows[measure] - rows[f"{measure}_low"], rows[f"{measure}_high"] - rows[measure]])
            ax.errorbar(rows[measure], y, xerr=np.nan_to_num(error), fmt=MARKERS[m % len(MARKERS)], label=model, capsize=3)
        ax.axvline(chance, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(label, fontsize=8)
    axes[0].set_yticks(np.arange(len(methods)), methods)
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle("Localisation of the planted cue (test recordings that carry it; dashed: chance)", fontsize=9)
    fig.savefig(out_path, dpi=dpi)
    plt.close(fig)


def deletion_figure(curves_path, out_path, dpi=150):
    """Mean probability of the predicted class as frames are deleted, by relevance (solid)
    and at random (dashed), one panel per explainer."""
    curves = pd.read_parquet(curves_path)
    methods, models = _methods(curves), _models(curves)
    fig, axes = plt.subplots(1, len(methods), figsize=(2.6 * len(methods) + 0.6, 2.8), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, method in zip(axes[0], methods, strict=True):
        for m, model in enumerate(models):
            rows = curves[(curves["method"] == method) & (curves["model"] == model)]
            if rows.empty:
                continue
            by_relevance = np.mean(np.stack(rows["curve"].to_numpy()), axis=0)
            by_chance = np.mean(np.stack(rows["random_curve"].to_numpy()), axis=0)
            x = np.linspace(0, 1, len(by_relevance))
            line, = ax.plot(x, by_relevance, label=f"{model}: ratio {rows['ratio'].mean():.2f}")
            ax.plot(x, by_chance, ls="--", color=line.get_color())
        ax.set_title(method, fontsize=8)
        ax.set_xlabel("share of the frames deleted", fontsize=8)
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("P(explained class)", fontsize=8)
    fig.suptitle("Deletion: most relevant first (solid) against random order (dashed); ratio < 1 is faithful", fontsize=9)
    fig.savefig(out_path, dpi=dpi)
    plt.close(fig)


def randomisation_figure(table_path, out_path, dpi=150):
    """Rank correlation of each explainer's maps with its maps on ever more randomised models."""
    table = pd.read_csv(table_path, sep="\t")
    models = _models(table)
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 3.0), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, model in zip(axes[0], models, strict=True):
        for k, (method, rows) in enumerate(table[table["model"] == model].groupby("method", sort=False)):
            verdict = "passes" if rows["passed"].iloc[0] else "fails"
            ax.plot(rows["layers_randomised"], rows["correlation"], marker=MARKERS[k % len(MARKERS)],
                    label=f"{method} ({verdict})")
        ax.axhline(table["max_correlation"].iloc[0], color="grey", lw=0.8, ls="--")
        ax.set_title(model, fontsize=8)
        ax.set_xlabel("layers re-initialised from the top (and the head)", fontsize=8)
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("Spearman ρ with the trained model's maps", fontsize=8)
    fig.suptitle("Randomisation: maps should change when what the model learnt is destroyed", fontsize=9)
    fig.savefig(out_path, dpi=dpi)
    plt.close(fig)


def phone_effects_figure(table_path, out_path, dpi=150):
    """Mean occlusion effect of every phone of the phrase, per model, with its interval; the
    study's phones in colour."""
    table = pd.read_csv(table_path, sep="\t", keep_default_na=False, na_values={c: [""] for c in ("ci_low", "ci_high")})
    models = _models(table)
    fig, axes = plt.subplots(len(models), 1, figsize=(8, 2.2 * max(len(models), 1) + 0.4), sharex=True, squeeze=False,
                             layout="constrained")
    for ax, model in zip(axes[:, 0], models, strict=True):
        rows = table[table["model"] == model].reset_index(drop=True)
        x = np.arange(len(rows))
        colours = np.where(rows["study"].astype(str) == "True", "tab:red", "tab:blue")
        ax.bar(x, rows["mean_effect"], color=colours)
        ax.errorbar(x, rows["mean_effect"], yerr=np.nan_to_num(np.vstack(
            [rows["mean_effect"] - rows["ci_low"], rows["ci_high"] - rows["mean_effect"]])), fmt="none", color="k", lw=0.8)
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_ylabel("Δ log-odds", fontsize=8)
        ax.set_title(f"{model}: log-odds of 'pathological' with the phone minus without it (red: the study's phones)",
                     fontsize=8)
        ax.set_xticks(x, [f"{p}\n{w}" for p, w in zip(rows["phone"], rows["word"])], fontsize=7)
    fig.savefig(out_path, dpi=dpi)
    plt.close(fig)


FIGURES = {
    "localisation": localisation_figure,
    "deletion": deletion_figure,
    "randomisation": randomisation_figure,
    "phone_effects": phone_effects_figure,
}
