"""The class labels (0 = healthy, 1 = pathological, the split table's `label`) and the columns
of a predictions table (results/predictions/{model}.parquet).

Their own module so that statistics and figures share them without importing each other (or
scikit-learn, or torch)."""

CLASS_NAMES = {0: "healthy", 1: "pathological"}
# score = P(pathological); pred = score ≥ the model's dev-chosen threshold.
PREDICTION_COLUMNS = ("session_id", "split", "label", "score", "pred")
