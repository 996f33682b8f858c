"""Predictions and pooled embeddings for every recording of every split."""
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from sklearn.metrics import balanced_accuracy_score

from svd_explain.ast_model import load_model, write_base_checkpoint
from svd_explain.features import load_inputs
from svd_explain.predict import predict
from test_train import TINY, write_corpus


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("predict")
    split, audio = write_corpus(folder)
    model_dir = folder / "model"  # any model folder predicts; the base checkpoint is one
    write_base_checkpoint("tiny", "auto", TINY, 3, sorted(audio.glob("*.wav")), model_dir)
    predict(model_dir, split, audio, folder / "predictions.parquet", folder / "embeddings.parquet",
            folder / "threshold.json", 3, "cpu")
    yield {"folder": folder, "split": split, "audio": audio, "model": model_dir}
    torch.set_num_threads(threads)


def test_predictions_cover_every_recording_with_the_documented_columns(predicted):
    predictions = pd.read_parquet(predicted["folder"] / "predictions.parquet")
    split = pd.read_parquet(predicted["split"]).sort_values("session_id", ignore_index=True)
    assert list(predictions.columns) == ["session_id", "split", "label", "score", "pred"]
    assert [str(predictions[c].dtype) for c in ("session_id", "label", "score", "pred")] == ["int64", "int64", "float64", "int64"]
    assert pd.api.types.is_string_dtype(predictions["split"])
    pd.testing.assert_frame_equal(predictions[["session_id", "split", "label"]], split[["session_id", "split", "label"]], check_dtype=False)
    assert predictions["score"].between(0, 1).all()
    # pred is the decision at the threshold chosen on dev, the one that maximises dev UAR.
    threshold = json.loads((predicted["folder"] / "threshold.json").read_text())
    assert (predictions["pred"] == (predictions["score"] >= threshold["threshold"])).all()
    dev = predictions[predictions["split"] == "dev"]
    assert balanced_accuracy_score(dev["label"], dev["pred"]) == pytest.approx(threshold["dev_uar"])
    assert threshold["dev_uar"] >= threshold["dev_uar_at_0.5"]


def test_scores_and_embeddings_are_the_models_outputs(predicted):
    predictions = pd.read_parquet(predicted["folder"] / "predictions.parquet")
    embeddings = pd.read_parquet(predicted["folder"] / "embeddings.parquet")
    model, extractor = load_model(predicted["model"])
    inputs = load_inputs([predicted["audio"] / f"{s}.wav" for s in predictions["session_id"]], extractor)
    with torch.no_grad():
        outputs = model(inputs)
        pooled = model.audio_spectrogram_transformer(inputs).pooler_output
    np.testing.assert_allclose(predictions["score"], outputs.logits.softmax(-1)[:, 1].numpy(), rtol=1e-5, atol=1e-6)
    assert (embeddings["session_id"] == predictions["session_id"]).all()
    assert (embeddings["split"] == predictions["split"]).all()
    np.testing.assert_allclose(np.stack(embeddings["embedding"]), pooled.numpy(), rtol=1e-5, atol=1e-6)


def test_embeddings_are_lists_of_float32(predicted):
    schema = pq.read_schema(predicted["folder"] / "embeddings.parquet")
    assert schema.field("session_id").type == pa.int64()
    assert schema.field("split").type == pa.string()
    assert schema.field("embedding").type == pa.list_(pa.float32())
    lengths = pq.read_table(predicted["folder"] / "embeddings.parquet")["embedding"].combine_chunks().value_lengths()
    assert set(lengths.to_pylist()) == {TINY["hidden_size"]}


def test_a_second_prediction_is_byte_identical(predicted, tmp_path):
    predict(predicted["model"], predicted["split"], predicted["audio"], tmp_path / "p.parquet", tmp_path / "e.parquet",
            tmp_path / "t.json", 3, "cpu")
    assert (tmp_path / "p.parquet").read_bytes() == (predicted["folder"] / "predictions.parquet").read_bytes()
    assert (tmp_path / "e.parquet").read_bytes() == (predicted["folder"] / "embeddings.parquet").read_bytes()


def test_a_recording_without_audio_is_an_error(predicted, tmp_path):
    split = pd.read_parquet(predicted["split"])
    split.loc[len(split)] = {**split.iloc[0].to_dict(), "session_id": 999}
    split.to_parquet(tmp_path / "split.parquet")
    with pytest.raises(FileNotFoundError, match="999.wav"):
        predict(predicted["model"], tmp_path / "split.parquet", predicted["audio"], tmp_path / "p.parquet",
                tmp_path / "e.parquet", tmp_path / "t.json", 4, "cpu")
