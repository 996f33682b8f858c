"""max_length auto is sized on the train and dev recordings only: a longer test recording is
truncated, and the base checkpoint says so (input_length.json) and logs it."""
import json
import logging

import numpy as np
import pandas as pd
import soundfile
import torch

from svd_explain.ast_model import INPUT_LENGTH_FILE, load_model, write_base_checkpoint
from svd_explain.features import num_frames

TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64, "num_mel_bins": 128}


def write_noise(path, seconds, rate=16000):
    rng = np.random.default_rng(len(str(path)))
    soundfile.write(path, 0.1 * rng.standard_normal(int(seconds * rate)), rate, subtype="PCM_16")
    return path


def test_the_test_split_does_not_size_the_input(tmp_path, caplog):
    torch.set_num_threads(1)
    seconds = {1: 1.2, 2: 1.5, 3: 0.9, 4: 2.5}  # session 4, the longest, is a test recording
    wavs = [write_noise(tmp_path / f"{s}.wav", d) for s, d in seconds.items()]
    split = tmp_path / "split.parquet"
    pd.DataFrame({"session_id": [1, 2, 3, 4], "split": ["train", "train", "dev", "test"]}).to_parquet(split)
    with caplog.at_level(logging.WARNING):
        write_base_checkpoint("tiny", "auto", TINY, 1, wavs, tmp_path / "base", split_parquet=split)
    model, extractor = load_model(tmp_path / "base")
    longest_train_dev = num_frames(int(1.5 * 16000))
    assert extractor.max_length == model.config.max_length
    assert longest_train_dev <= model.config.max_length < num_frames(int(2.5 * 16000))
    record = json.loads((tmp_path / "base" / INPUT_LENGTH_FILE).read_text())
    assert record["max_length"] == model.config.max_length and record["setting"] == "auto"
    assert record["sized_on"] == ["train", "dev"]
    assert record["truncated"] == {"dev": 0, "test": 1, "train": 0}
    assert record["truncated_recordings"] == [{"session_id": "4", "split": "test", "frames": num_frames(40000)}]
    assert "1 of 4 recordings are longer" in caplog.text and "test 1" in caplog.text


def test_a_fixed_length_counts_what_it_truncates(tmp_path):
    wavs = [write_noise(tmp_path / f"{s}.wav", d) for s, d in {1: 1.2, 2: 2.5}.items()]
    split = tmp_path / "split.parquet"
    pd.DataFrame({"session_id": [1, 2], "split": ["train", "dev"]}).to_parquet(split)
    write_base_checkpoint("tiny", 106, TINY, 1, wavs, tmp_path / "base", split_parquet=split)
    record = json.loads((tmp_path / "base" / INPUT_LENGTH_FILE).read_text())
    assert record["max_length"] == 106 and record["truncated"] == {"dev": 1, "train": 1}

