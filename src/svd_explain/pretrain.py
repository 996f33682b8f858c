"""The demo's stand-in for the AudioSet checkpoint: the tiny AST pretrained on a pretext task.

The study starts from `MIT/ast-finetuned-audioset-10-10-0.4593`, an AST trained to tag AudioSet
clips (multi-label). Without it, `ast_freeze` would train a head on a random backbone. Here the
workflow builds its own pretrained checkpoint: the tiny AST (checkpoint.tiny) learns to tag
synthetic babble clips by random speakers who are not the corpus's (synth/pretext.py) with the
speaker's sex, the vowels that occur and the voice quality of the whole clip, a multi-label
task like AudioSet's, with the transformers Trainer. The result is a `save_pretrained` folder
with the tagging head and its feature extractor, which the base checkpoint then loads through
the same `from_pretrained` path as the real checkpoint (ast_model.load_model).

Why voice quality is among the tags: with sex and vowels only, the frozen features hardly
encode the texture of a voice (in development, with the cue on /uː ə m ʁ v/ at scale 5, a
linear probe of the frozen tokens at the cue phones scored test AUC 0.71 where one on the
log-mel input at the same places scored 0.94), and the fine-tuned tiny AST hardly learnt a cue
confined to short phones from a few hundred recordings. The tags are for the
whole clip, so the stand-in is never told that a voice can change within an utterance, nor
about pathology.

Outputs in the folder besides the model: history.tsv (per epoch: train_loss, eval_loss,
eval_sex_accuracy, eval_vowel_auc, eval_quality_auc on held-out pretext clips, learning_rate)
and learning_curve.png.
"""
import functools
import logging
import math
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.special import expit
from sklearn.metrics import roc_auc_score
from transformers import ASTFeatureExtractor, PrinterCallback, TrainerCallback, TrainingArguments

from svd_explain.ast_model import quiet_progress_bars, random_ast, resolve_device
from svd_explain.features import waveform_inputs
from svd_explain.logs import progress
from svd_explain.synth.pretext import PRETEXT_LABELS, VOICE_QUALITIES, VOWELS, pretext_clip
from svd_explain.train import HistoryTrainer, InputDataset, training_history

log = logging.getLogger(__name__)

SEX_LABELS = (0, 1)  # female, male: exactly one is set
PRETEXT_HISTORY_COLUMNS = [
    "epoch", "step", "train_loss", "eval_loss", "eval_sex_accuracy", "eval_vowel_auc", "eval_quality_auc", "learning_rate",
]
WARMUP_RATIO = 0.1


@dataclass(frozen=True)
class PretextSettings:
    """checkpoint.pretext: how many clips, the input length (frames) of the checkpoint, and
    the training. The last `dev_clips` clips are held out to follow the pretext's learning."""

    clips: int
    max_length: int
    epochs: int
    learning_rate: float
    batch_size: int
    dev_clips: int


class PretextProgress(TrainerCallback):
    """Pretraining progress: one line per logging step in the rule's log, one per epoch on the
    terminal too (logs.progress)."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if "loss" in logs:
            log.info("step %d/%d: loss %.4f", state.global_step, state.max_steps, logs["loss"])
        elif "eval_loss" in logs:
            progress.info(
                "epoch %d/%d: train loss %.4f, held-out loss %.4f, sex accuracy %.3f, vowel AUC %.3f, "
                "voice-quality AUC %.3f",
                round(logs["epoch"]), args.num_train_epochs, logs.get("train_loss", float("nan")),
                logs["eval_loss"], logs["eval_sex_accuracy"], logs["eval_vowel_auc"], logs["eval_quality_auc"],
            )


def _mean_auc(labels, logits, columns):
    """Mean ROC AUC over the label columns that have both values."""
    aucs = [roc_auc_score(labels[:, k], expit(logits[:, k])) for k in columns if 0 < labels[:, k].sum() < len(labels)]
    return float(np.mean(aucs)) if aucs else float("nan")


def pretext_metrics(prediction):
    """Sex accuracy (the larger of the two sex logits), and the mean ROC AUC of the vowel
    labels and of the voice-quality labels."""
    logits, labels = prediction.predictions, prediction.label_ids
    sex = logits[:, list(SEX_LABELS)].argmax(axis=1) == labels[:, list(SEX_LABELS)].argmax(axis=1)
    return {
        "sex_accuracy": float(sex.mean()),
        "vowel_auc": _mean_auc(labels, logits, [PRETEXT_LABELS.index(f"vowel {v}") for v in VOWELS]),
        "quality_auc": _mean_auc(labels, logits, [PRETEXT_LABELS.index(f"{q} voice") for q in VOICE_QUALITIES]),
    }


def pretext_clips(n, seed, max_seconds, sample_rate, threads):
    """The first `n` pretext clips, synthesized with `threads` processes (the same clips for
    any number of processes)."""
    make = functools.partial(pretext_clip, seed=seed, max_seconds=max_seconds, sample_rate=sample_rate)
    if threads <= 1:
        return [make(i) for i in range(n)]
    with ProcessPoolExecutor(threads) as pool:
        return list(pool.map(make, range(n), chunksize=16))


def write_pretext_checkpoint(output_dir, architecture, settings, seed, device="auto", threads=1):
    """Pretrain the AST of `architecture` (checkpoint.tiny) on the pretext task as `settings`
    (PretextSettings) say and write it to `output_dir`: save_pretrained model (head: the
    PRETEXT_LABELS) with its feature extractor, history.tsv and learning_curve.png.
    Returns the last epoch's held-out metrics."""
    if not 0 < settings.dev_clips < settings.clips:
        raise ValueError(f"dev_clips must be between 0 and clips ({settings.clips}), got {settings.dev_clips}")
    torch.set_num_threads(max(threads, 1))
    quiet_progress_bars()
    torch_device, precision = resolve_device(device)
    feature_extractor = ASTFeatureExtractor(num_mel_bins=architecture["num_mel_bins"], max_length=settings.max_length)
    # The clips fill at most the input window (frames every 10 ms after a 25 ms window).
    max_seconds = ((settings.max_length - 1) * 160 + 400) / feature_extractor.sampling_rate
    log.info("synthesizing %d pretext clips of up to %.2f s with %d process(es)", settings.clips, max_seconds, threads)
    clips = pretext_clips(settings.clips, seed, max_seconds, feature_extractor.sampling_rate, threads)
    inputs = waveform_inputs([clip.samples for clip in clips], feature_extractor)
    labels = torch.tensor(np.stack([clip.labels for clip in clips]))
    n_train = settings.clips - settings.dev_clips
    log.info(
        "pretext: %d train and %d held-out clips; label shares %s",
        n_train, settings.dev_clips, dict(zip(PRETEXT_LABELS, labels.mean(0).numpy().round(2).tolist())),
    )

    model = random_ast(
        architecture, seed, max_length=settings.max_length,
        labels=dict(enumerate(PRETEXT_LABELS)), problem_type="multi_label_classification",
    )
    steps = math.ceil(n_train / settings.batch_size) * settings.epochs
    on_cpu = torch_device.type == "cpu"
    scratch = tempfile.TemporaryDirectory(prefix="pretext-")  # the Trainer wants a folder; nothing is saved
    arguments = TrainingArguments(
        output_dir=scratch.name,
        num_train_epochs=settings.epochs,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        warmup_steps=math.ceil(WARMUP_RATIO * steps),
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="steps",
        logging_steps=max(steps // 20, 1),
        seed=seed,
        data_seed=seed,
        full_determinism=on_cpu,
        use_cpu=on_cpu,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        dataloader_pin_memory=not on_cpu,
        disable_tqdm=True,
        report_to="none",
    )
    trainer = HistoryTrainer(
        model=model,
        args=arguments,
        train_dataset=InputDataset("input_values", inputs[:n_train], labels[:n_train]),
        eval_dataset=InputDataset("input_values", inputs[n_train:], labels[n_train:]),
        compute_metrics=pretext_metrics,
        callbacks=[PretextProgress()],
    )
    trainer.remove_callback(PrinterCallback)
    with scratch:
        trainer.train()
    history = training_history(trainer.state.log_history, PRETEXT_HISTORY_COLUMNS)
    last = history.iloc[-1]
    log.info(
        "pretext after %d epochs: held-out sex accuracy %.3f, vowel AUC %.3f, voice-quality AUC %.3f",
        last["epoch"], last["eval_sex_accuracy"], last["eval_vowel_auc"], last["eval_quality_auc"],
    )

    model = trainer.model.to("cpu")
    output_dir = Path(output_dir)
    model.save_pretrained(output_dir)
    feature_extractor.save_pretrained(output_dir)
    history.to_csv(output_dir / "history.tsv", sep="\t", index=False, float_format="%.6g")
    plot_pretext_curve(history, output_dir / "learning_curve.png")
    return {key: float(last[f"eval_{key}"]) for key in ("sex_accuracy", "vowel_auc", "quality_auc")}


def plot_pretext_curve(history, path):
    """Training and held-out loss, held-out sex accuracy and vowel AUC per epoch."""
    figure = Figure(figsize=(8, 3.4), layout="constrained")
    loss_axes, metric_axes = figure.subplots(1, 2)
    loss_axes.plot(history["epoch"], history["train_loss"], marker="o", label="train")
    loss_axes.plot(history["epoch"], history["eval_loss"], marker="o", label="held out")
    loss_axes.set(xlabel="epoch", ylabel="binary cross-entropy", title="pretext loss")
    metric_axes.plot(history["epoch"], history["eval_sex_accuracy"], marker="o", label="sex accuracy")
    metric_axes.plot(history["epoch"], history["eval_vowel_auc"], marker="o", label="vowel AUC (mean)")
    metric_axes.plot(history["epoch"], history["eval_quality_auc"], marker="o", label="voice-quality AUC (mean)")
    metric_axes.set(xlabel="epoch", ylabel="score", title="held-out pretext clips", ylim=(0.4, 1.02))
    for axes in (loss_axes, metric_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(fontsize="small")
    figure.suptitle("stand-in pretraining: sex, vowel and voice-quality tags on synthetic babble")
    figure.savefig(path, dpi=120)
