"""The metrics figures: ROC curves of every model and baseline, and confusion matrices at the
dev-chosen thresholds, on the test split. Plotting only: the numbers come from the metrics
JSONs (metrics.py)."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, roc_curve  # noqa: E402

from svd_explain.labels import CLASS_NAMES  # noqa: E402
from svd_explain.metrics import check_predictions, read_metrics  # noqa: E402

STYLES = {"ast": "-", "classical": "--", "confound": ":"}


def _with_interval(name, values, metric):
    value, ci = values.get(metric), values.get(f"{metric}_ci")
    if value is None:
        return f"{name} ({metric.upper()} not reported)"
    return f"{name} ({metric.upper()} {value:.2f} [{ci[0]:.2f}, {ci[1]:.2f}])"


def plot_roc(predictions, results, path, split_name="test", dpi=200):
    """ROC curves on one split (AST solid, classical dashed, confound dotted), AUC and interval
    in the legend (or why it is not reported), each model's operating point at its threshold
    marked; a model whose split lacks a class is listed without a curve."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, label="chance")
    for name, table in predictions.items():
        rows = table.loc[table["split"] == split_name]
        values = results[name].get(split_name, {})
        style = STYLES[results[name]["kind"]]
        if rows["label"].nunique() < 2:
            ax.plot([], [], style, label=_with_interval(name, values, "auc"))
            continue
        fpr, tpr, _ = roc_curve(rows["label"], rows["score"])
        (line,) = ax.plot(fpr, tpr, style, lw=1.5, label=_with_interval(name, values, "auc"))
        positive = rows["label"] == 1
        ax.plot((rows.loc[~positive, "pred"] == 1).mean(), (rows.loc[positive, "pred"] == 1).mean(), "o",
                color=line.get_color(), ms=4)
    ax.set(xlabel="1 − specificity (false-positive rate)", ylabel="sensitivity (true-positive rate)",
           title=f"ROC, {split_name} split (dots: the dev-chosen thresholds)", xlim=(0, 1), ylim=(0, 1.01),
           aspect="equal")
    ax.legend(loc="lower right", fontsize=6)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_confusion(predictions, results, path, split_name="test", dpi=200):
    """One confusion matrix (counts) per model at its dev-chosen threshold, UAR and interval in
    the panel title; four panels a row."""
    names = list(predictions)
    columns = min(4, len(names))
    rows_of_panels = int(np.ceil(len(names) / columns))
    fig, axes = plt.subplots(rows_of_panels, columns, figsize=(3.2 * columns, 3.4 * rows_of_panels), squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names):
        rows = predictions[name].loc[predictions[name]["split"] == split_name]
        # One colour scale for all panels (0 to the split's size), and text colours from it:
        # scikit-learn's own choice is unreadable when every cell holds the same count.
        most = max(1, len(rows))
        display = ConfusionMatrixDisplay.from_predictions(
            rows["label"], rows["pred"], labels=[0, 1], display_labels=[CLASS_NAMES[0], CLASS_NAMES[1]],
            ax=ax, colorbar=False, cmap="Blues", values_format="d", im_kw={"vmin": 0, "vmax": most},
        )
        for (i, j), text in np.ndenumerate(display.text_):
            text.set_color("white" if display.confusion_matrix[i, j] > most / 2 else "black")
        values = results[name].get(split_name, {})
        threshold = results[name]["threshold"]["threshold"]
        ax.set_title(f"{name} (threshold {threshold:.2f})\n{_with_interval('', values, 'uar').strip()}", fontsize=8)
    fig.suptitle(f"Confusion matrices, {split_name} split, at the dev-chosen thresholds", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def plot_metrics(model_metrics, model_predictions, split_parquet, roc_png, confusion_png, dpi=200):
    """The test-split ROC and confusion figures of every model and baseline (`model_metrics`,
    `model_predictions`: {name: path}, same names)."""
    if set(model_metrics) != set(model_predictions) or not model_metrics:
        raise ValueError("need metrics and predictions for the same, non-empty set of models")
    split = pd.read_parquet(split_parquet)
    results = {name: read_metrics(path) for name, path in model_metrics.items()}
    predictions = {name: check_predictions(pd.read_parquet(model_predictions[name]), split, complete=False)
                   for name in model_metrics}
    plot_roc(predictions, results, roc_png, dpi=dpi)
    plot_confusion(predictions, results, confusion_png, dpi=dpi)
