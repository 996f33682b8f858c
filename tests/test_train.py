"""Training through the real transformers Trainer on a tiny AST and a few synthetic clips:
outputs, the frozen-backbone cache against the straightforward run, resuming after an
interruption, determinism, no test-split leakage, and the parameters that train."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback
from transformers.trainer_pt_utils import safe_globals

from svd_explain.ast_model import load_model, write_base_checkpoint
from svd_explain.features import load_inputs
from svd_explain.train import HISTORY_COLUMNS, resume_point, train_model

TINY = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "num_mel_bins": 128}
TRAINING = {
    "per_device_batch_size": 2,
    "gradient_accumulation_steps": 2,
    "warmup_ratio": 0.1,
    "logging_steps": 2,
    "early_stopping_threshold": 0.0,
    "metric_for_best_model": "uar",
    "device": "cpu",
}
FINETUNE = {"train": "all", "top_layers": 2, "learning_rate": 1e-3, "epochs": 4, "patience": 3}
SEED = 13
SPLITS = ["train"] * 8 + ["dev"] * 4 + ["test"] * 4


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread; and afterwards, the deterministic-algorithms switch as it was (the
    Trainer turns it on for the process when training on the CPU)."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


def write_clip(path, label, seconds, rng):
    """A 16 kHz clip: healthy = a clean 120 Hz tone, pathological = a noisier 220 Hz tone."""
    t = np.arange(int(seconds * 16000)) / 16000
    tone = 0.3 * np.sin(2 * np.pi * (220 if label else 120) * t)
    noise = (0.05 if label else 0.01) * rng.standard_normal(len(t))
    soundfile.write(path, (tone + noise).astype(np.float32), 16000, subtype="PCM_16")


def write_corpus(folder, seed=0):
    """Sixteen clips of 0.8-1.2 s (8 train, 4 dev, 4 test, alternating labels) and their split
    table, like results/audio/ and results/split/split.parquet. Returns (split path, audio dir)."""
    rng = np.random.default_rng(seed)
    audio = Path(folder, "audio")
    audio.mkdir(parents=True)
    rows = []
    for i, split in enumerate(SPLITS):
        session, label = 100 + i, i % 2
        write_clip(audio / f"{session}.wav", label, rng.uniform(0.8, 1.2), rng)
        rows.append({"session_id": session, "speaker_id": 500 + i, "split": split, "label": label, "sex": "female", "category": "healthy" if label == 0 else "organic"})
    split_path = Path(folder, "split.parquet")
    pd.DataFrame(rows).to_parquet(split_path)
    return split_path, audio


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    split_path, audio = write_corpus(folder)
    base = folder / "base"
    write_base_checkpoint("tiny", "auto", TINY, SEED, sorted(audio.glob("*.wav")), base)
    return {"split": split_path, "audio": audio, "base": base, "folder": folder}


def train(corpus, folder, model=FINETUNE, training=TRAINING, **options):
    model_dir, work_dir = Path(folder, "model"), Path(folder, "work")
    train_model(corpus["base"], corpus["split"], corpus["audio"], model_dir, work_dir, model, training, SEED, **options)
    return model_dir


def weights(model_dir):
    return load_file(Path(model_dir, "model.safetensors"))


def all_logits(model_dir, audio):
    model, extractor = load_model(model_dir)
    with torch.no_grad():
        return model(load_inputs(sorted(audio.glob("*.wav")), extractor)).logits


@pytest.fixture(scope="module")
def finetuned(corpus, tmp_path_factory):
    return train(corpus, tmp_path_factory.mktemp("finetuned"))


def test_the_trainer_writes_a_loadable_model_with_its_history(corpus, finetuned):
    names = sorted(p.name for p in finetuned.iterdir())
    assert names == ["config.json", "history.tsv", "learning_curve.png", "model.safetensors", "preprocessor_config.json"]
    assert not (finetuned.parent / "work").exists()  # checkpoints are removed after success
    history = pd.read_csv(finetuned / "history.tsv", sep="\t")
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert history["step"].tolist() == [2, 4, 6, 8]  # 8 clips / (2 x 2) per optimizer step
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    model, extractor = load_model(finetuned)
    assert model.config.id2label == {0: "healthy", 1: "pathological"}
    assert extractor.max_length == model.config.max_length == 126  # auto: longest clip 118 frames


def test_the_saved_model_is_the_best_epoch(corpus, finetuned):
    """The kept weights reproduce the dev loss logged at the first epoch with the best dev UAR
    (and so are really loaded from that checkpoint, encoder included)."""
    history = pd.read_csv(finetuned / "history.tsv", sep="\t")
    best = history.loc[history["eval_uar"].idxmax()]
    split = pd.read_parquet(corpus["split"])
    dev = split[split["split"] == "dev"].sort_values("session_id")
    model, extractor = load_model(finetuned)
    with torch.no_grad():
        logits = model(load_inputs([corpus["audio"] / f"{s}.wav" for s in dev["session_id"]], extractor)).logits
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(dev["label"].to_numpy()))
    assert loss.item() == pytest.approx(best["eval_loss"], rel=1e-5)
    assert history["eval_loss"].nunique() == len(history)  # so the match pins the epoch


HEAD = {**FINETUNE, "train": "head", "learning_rate": 5e-3}


@pytest.fixture(scope="module")
def frozen(corpus, tmp_path_factory):
    return train(corpus, tmp_path_factory.mktemp("frozen"), model=HEAD)


def test_the_frozen_cache_trains_like_the_straightforward_trainer_run(corpus, frozen, tmp_path):
    direct = train(corpus, tmp_path, model=HEAD, frozen_cache=False)
    torch.testing.assert_close(all_logits(frozen, corpus["audio"]), all_logits(direct, corpus["audio"]), rtol=1e-5, atol=1e-6)
    pd.testing.assert_frame_equal(
        pd.read_csv(frozen / "history.tsv", sep="\t"), pd.read_csv(direct / "history.tsv", sep="\t"), rtol=1e-5
    )
    base, trained = weights(corpus["base"]), weights(frozen)
    changed = {name for name in base if not torch.equal(base[name], trained[name])}
    assert changed == {"classifier.dense.weight", "classifier.dense.bias", "classifier.layernorm.weight", "classifier.layernorm.bias"}


class Interrupt(Exception):
    pass


class InterruptAfterSaving(TrainerCallback):
    """Stands for a killed job: stops the process right after the checkpoint of `epoch`."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_save(self, args, state, control, **kwargs):
        if round(state.epoch) == self.epoch:
            raise Interrupt


class FirstStep(TrainerCallback):
    def on_train_begin(self, args, state, control, **kwargs):
        self.step = state.global_step


def test_a_rerun_resumes_from_the_last_checkpoint_and_ends_like_an_uninterrupted_run(corpus, finetuned, tmp_path):
    with pytest.raises(Interrupt):
        train(corpus, tmp_path, callbacks=[InterruptAfterSaving(epoch=2)])
    work = tmp_path / "work"
    assert sorted(p.name for p in work.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    # Weights as safetensors only, no pickled training arguments; the optimizer, scheduler and
    # RNG states (torch.save) load with weights_only=True (numpy's RNG state allowlisted), as
    # the Trainer loads them.
    assert sorted(p.name for p in work.glob("checkpoint-4/*")) == [
        "config.json", "model.safetensors", "optimizer.pt", "rng_state.pth", "scheduler.pt", "trainer_state.json"
    ]
    with safe_globals():
        for state in work.glob("checkpoint-4/*.pt*"):
            torch.load(state, weights_only=True)
    first = FirstStep()
    resumed = train(corpus, tmp_path, callbacks=[first])
    assert first.step == 4  # epoch 2 done: resumed, not restarted
    for name, value in weights(finetuned).items():
        torch.testing.assert_close(weights(resumed)[name], value, rtol=0, atol=0, msg=name)
    pd.testing.assert_frame_equal(
        pd.read_csv(resumed / "history.tsv", sep="\t"), pd.read_csv(finetuned / "history.tsv", sep="\t")
    )


def test_the_cached_head_resumes_too_from_safetensors_checkpoints(corpus, frozen, tmp_path):
    with pytest.raises(Interrupt):
        train(corpus, tmp_path, model=HEAD, callbacks=[InterruptAfterSaving(epoch=1)])
    checkpoint = tmp_path / "work" / "checkpoint-2"
    assert sorted(p.name for p in checkpoint.iterdir()) == [
        "model.safetensors", "optimizer.pt", "rng_state.pth", "scheduler.pt", "trainer_state.json"
    ]
    assert sorted(load_file(checkpoint / "model.safetensors")) == [
        "classifier.dense.bias", "classifier.dense.weight", "classifier.layernorm.bias", "classifier.layernorm.weight"
    ]
    first = FirstStep()
    resumed = train(corpus, tmp_path, model=HEAD, callbacks=[first])
    assert first.step == 2
    for name, value in weights(frozen).items():
        assert torch.equal(weights(resumed)[name], value), name


def test_resume_point_takes_the_newest_complete_checkpoint_of_the_same_settings(tmp_path):
    work = tmp_path / "work"
    assert resume_point(work, "a") is None  # fresh: marks the folder with its fingerprint
    assert json.loads((work / "fingerprint.json").read_text()) == {"fingerprint": "a"}
    for step, complete in ((2, True), (4, True), (6, False)):
        (work / f"checkpoint-{step}").mkdir()
        if complete:
            (work / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert resume_point(work, "a") == str(work / "checkpoint-4")
    assert not (work / "checkpoint-6").exists()  # interrupted while saving: removed
    assert resume_point(work, "b") is None  # other settings or data: start afresh
    assert not list(work.glob("checkpoint-*"))


def test_two_runs_from_scratch_give_byte_identical_predictions(corpus, finetuned, tmp_path):
    from svd_explain.predict import predict

    again = train(corpus, tmp_path / "again")
    outputs = []
    for model_dir in (finetuned, again):
        predictions = tmp_path / f"{model_dir.parent.name}.parquet"
        predict(model_dir, corpus["split"], corpus["audio"], predictions, tmp_path / "embeddings.parquet",
                tmp_path / "threshold.json", 4, "cpu")
        outputs.append(predictions.read_bytes())
    assert outputs[0] == outputs[1]


def test_test_recordings_never_influence_training(corpus, finetuned, tmp_path):
    """Other audio (same durations, so the same auto input length) and flipped labels in the
    test split leave every trained weight and the whole history unchanged."""
    folder = tmp_path / "corpus"
    shutil.copytree(corpus["folder"], folder)
    split = pd.read_parquet(folder / "split.parquet")
    rng = np.random.default_rng(99)
    for row in split[split["split"] == "test"].itertuples():
        path = folder / "audio" / f"{row.session_id}.wav"
        write_clip(path, 1 - row.label, soundfile.info(str(path)).frames / 16000, rng)
    split.loc[split["split"] == "test", "label"] = 1 - split.loc[split["split"] == "test", "label"]
    split.to_parquet(folder / "split.parquet")
    changed = {"split": folder / "split.parquet", "audio": folder / "audio", "base": folder / "base"}
    model_dir = train(changed, tmp_path / "run")
    for name, value in weights(finetuned).items():
        assert torch.equal(weights(model_dir)[name], value), name
    pd.testing.assert_frame_equal(
        pd.read_csv(model_dir / "history.tsv", sep="\t"), pd.read_csv(finetuned / "history.tsv", sep="\t")
    )


def test_top_layers_trains_only_the_last_layers_and_the_head(corpus, tmp_path):
    model_dir = train(corpus, tmp_path, model={**FINETUNE, "train": "top_layers", "top_layers": 1, "epochs": 1})
    base, trained = load_model(corpus["base"])[0].state_dict(), load_model(model_dir)[0].state_dict()
    changed = {name.split(".")[1] if name.startswith("audio_") else "head" for name in base if not torch.equal(base[name], trained[name])}
    assert changed == {"layers", "layernorm", "head"}
    assert all(torch.equal(base[n], trained[n]) for n in base if ".layers.0." in n or ".embeddings." in n)
    assert not all(torch.equal(base[n], trained[n]) for n in base if ".layers.1." in n)


def test_the_training_steps_are_timed_apart_from_evaluation(corpus, tmp_path):
    """The summary (and the log) give the training steps' time and recordings: every epoch's 8
    train clips, at the configured 2 x 2 on the CPU."""
    summary = train_model(corpus["base"], corpus["split"], corpus["audio"], tmp_path / "model", tmp_path / "work",
                          {**FINETUNE, "epochs": 2}, TRAINING, SEED)
    assert summary["step_samples"] == 2 * 8
    assert 0 < summary["step_seconds"] < summary["training_seconds"]
    assert (summary["micro_batch"], summary["accumulation"]) == (2, 2)


def test_a_dev_split_without_both_classes_is_refused(corpus, tmp_path):
    split = pd.read_parquet(corpus["split"])
    split.loc[split["split"] == "dev", "label"] = 0
    split.to_parquet(tmp_path / "split.parquet")
    with pytest.raises(ValueError, match="dev split needs healthy and pathological"):
        train({**corpus, "split": tmp_path / "split.parquet"}, tmp_path)


def test_training_says_when_it_stops_early_and_when_it_ran_every_epoch(caplog):
    from types import SimpleNamespace

    from transformers import TrainerState

    from svd_explain.train import ProgressLog

    args = SimpleNamespace(num_train_epochs=12, metric_for_best_model="uar")
    state = TrainerState(epoch=5.0, global_step=50, max_steps=120, best_metric=0.8,
                         best_model_checkpoint="work/checkpoint-30")
    with caplog.at_level("INFO", logger="svd_explain.progress"):
        ProgressLog(patience=2).on_train_end(args, state, None)
        state.epoch, state.global_step = 12.0, 120
        ProgressLog(patience=2).on_train_end(args, state, None)
    first, second = [r.getMessage() for r in caplog.records if r.name == "svd_explain.progress"]
    assert first.startswith("early stopping at epoch 5 of 12 (patience 2: dev uar did not improve for 2 evaluations)")
    assert "best 0.8000 at work/checkpoint-30" in first
    assert second.startswith("all 12 epochs trained; best dev uar 0.8000")
