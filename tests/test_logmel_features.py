import numpy as np
import pytest
import soundfile as sf
from transformers import ASTFeatureExtractor

from svd_explain.features import log_mel
from svd_explain.logmel_features import logmel_columns, logmel_statistics, logmel_table


def test_the_statistics_summarise_the_louder_half_of_the_frames():
    quiet = np.full((4, 2), -10.0)
    loud = np.array([[0.0, 4.0], [2.0, 4.0], [0.0, 4.0], [2.0, 4.0]])
    statistics = logmel_statistics(np.vstack([quiet, loud]))
    # Mean, SD and mean |frame-to-frame change| per bin, over the four loud frames only.
    assert statistics.tolist() == [1.0, 4.0, 1.0, 0.0, 2.0, 0.0]
    assert logmel_columns(2) == ["mean_000", "mean_001", "std_000", "std_001", "delta_000", "delta_001"]


def test_a_filter_bank_of_one_frame_is_refused():
    with pytest.raises(ValueError, match="at least 2 frames"):
        logmel_statistics(np.zeros((1, 4)))


def test_the_table_summarises_the_input_the_checkpoint_reads(tmp_path):
    extractor = ASTFeatureExtractor(num_mel_bins=16, max_length=60)
    extractor.save_pretrained(tmp_path / "checkpoint")
    rng = np.random.default_rng(0)
    paths = []
    for session, seconds in ((7, 1.0), (3, 0.4)):
        path = tmp_path / f"{session}.wav"
        sf.write(path, 0.1 * rng.standard_normal(int(16000 * seconds)), 16000)
        paths.append(str(path))
    table = logmel_table(paths, [7, 3], str(tmp_path / "checkpoint"))
    assert table["session_id"].tolist() == [3, 7]
    assert list(table.columns) == ["session_id", *logmel_columns(16), "note"]
    # Session 7 (100 frames) is cut to the checkpoint's 60, as the model's input is.
    frames = log_mel(paths[0], extractor)[:60]
    assert np.allclose(table.iloc[1, 1:-1].to_numpy(dtype=float), logmel_statistics(frames))
    assert table["note"].tolist() == ["", ""]
    with pytest.raises(ValueError, match="2 recordings but 1 session ids"):
        logmel_table(paths, [7], str(tmp_path / "checkpoint"))


def test_a_recording_that_cannot_be_read_gets_nan_and_a_note(tmp_path):
    ASTFeatureExtractor(num_mel_bins=8, max_length=60).save_pretrained(tmp_path / "checkpoint")
    good, broken = tmp_path / "1.wav", tmp_path / "2.wav"
    sf.write(good, 0.1 * np.random.default_rng(0).standard_normal(8000), 16000)
    broken.write_bytes(b"not a wav file")
    table = logmel_table([str(good), str(broken)], [1, 2], str(tmp_path / "checkpoint"))
    features = table.drop(columns=["session_id", "note"])
    assert features.iloc[0].notna().all() and features.iloc[1].isna().all()
    assert table["note"].iloc[0] == "" and table["note"].iloc[1].startswith("log-mel statistics failed:")
