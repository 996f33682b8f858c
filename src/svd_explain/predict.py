"""Scores and pooled embeddings of a trained model for every recording of every split, and its
decision threshold, chosen on the dev split (thresholds.py)."""
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from scipy.special import softmax

from svd_explain.ast_model import (
    INFERENCE_BATCH,
    device_batch_size,
    load_model,
    log_peak_memory,
    pooled_outputs,
    quiet_progress_bars,
    resolve_device,
)
from svd_explain.features import load_inputs, split_recordings
from svd_explain.thresholds import apply_threshold, threshold_record, write_threshold

log = logging.getLogger(__name__)


def predict(model_dir, split_path, audio_dir, predictions_path, embeddings_path, threshold_path, batch_size,
            device="auto", threads=None):
    """Write predictions (session_id, split, label, score = P(pathological), pred = score ≥
    the threshold), the threshold (JSON, chosen on the dev recordings) and pooled embeddings
    (session_id, split, embedding = list<float32>) of the model in `model_dir` for every
    recording of the split table, in session order. On a GPU: larger batches, and the mixed
    precision the model trained in (as its frozen-backbone cache was computed)."""
    if threads:
        torch.set_num_threads(threads)
    quiet_progress_bars()
    device, precision = resolve_device(device)
    model, feature_extractor = load_model(model_dir)
    recordings = split_recordings(split_path, audio_dir)
    inputs = load_inputs(recordings["wav"], feature_extractor)
    batch_size = device_batch_size(batch_size, device, INFERENCE_BATCH)
    log.info("%d recordings on %s, batch %d, mixed precision %s", len(recordings), device, batch_size, precision or "off")
    embeddings = pooled_outputs(model.audio_spectrogram_transformer, inputs, batch_size, device, precision)
    with torch.inference_mode():
        # The head on the pooled output: exactly what the model's forward computes.
        logits = model.classifier.to(device)(embeddings.to(device)).float().cpu().numpy()

    score = softmax(logits.astype(np.float64), axis=1)[:, 1]
    dev = (recordings["split"] == "dev").to_numpy()
    threshold = threshold_record(recordings.loc[dev, "label"].to_numpy(), score[dev])
    log.info("threshold %.4f (dev UAR %.3f; %.3f at 0.5)", threshold["threshold"], threshold["dev_uar"],
             threshold["dev_uar_at_0.5"])
    predictions = pd.DataFrame(
        {
            "session_id": recordings["session_id"].astype("int64"),
            "split": recordings["split"].astype(str),
            "label": recordings["label"].astype("int64"),
            "score": score,
            "pred": apply_threshold(score, threshold["threshold"]),
        }
    )
    for name, rows in predictions.groupby("split"):
        log.info("%s: %d recordings, accuracy %.3f", name, len(rows), (rows["pred"] == rows["label"]).mean())
    for path in (predictions_path, embeddings_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    predictions.to_parquet(predictions_path, index=False)
    write_threshold(threshold, threshold_path)

    vectors = embeddings.numpy().astype(np.float32)
    table = pa.table(
        {
            "session_id": pa.array(predictions["session_id"], pa.int64()),
            "split": pa.array(predictions["split"], pa.string()),
            "embedding": pa.ListArray.from_arrays(
                pa.array(np.arange(0, vectors.size + 1, vectors.shape[1]), pa.int32()),
                pa.array(vectors.reshape(-1), pa.float32()),
            ),
        }
    )
    pq.write_table(table, embeddings_path)
    log_peak_memory(device, "prediction")
    log.info("wrote %s and %s", predictions_path, embeddings_path)
