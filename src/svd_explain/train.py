"""Training of the AST classifiers with the transformers Trainer.

The train split trains, the dev split evaluates every epoch and chooses the model (early stopping
on the dev metric `training.metric_for_best_model`, UAR by default; the best epoch is kept, ties
keep the earlier one). The test split is never read here.

A frozen backbone (`train: head`) is run once: the pooled outputs of every train and dev
recording are cached and the Trainer trains the model's own head on them, with the same settings.
That is the same computation as a Trainer run of the whole model with the backbone frozen (the
backbone has no dropout and no trainable parameter), at a fraction of the cost.

Trainer checkpoints live in a work folder outside the rule's output (Snakemake deletes the
outputs of a failed job); a rerun with the same settings, data and base checkpoint resumes from
the newest complete checkpoint, anything else starts afresh. The folder is deleted after success.
"""
import copy
import hashlib
import json
import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from safetensors.torch import save_file
from scipy.special import softmax
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from torch import nn
from transformers import (
    EarlyStoppingCallback,
    PreTrainedModel,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from transformers.utils import SAFE_WEIGHTS_NAME

from svd_explain.ast_model import (
    INFERENCE_BATCH,
    device_batch_size,
    fits_on_gpu,
    gpu_micro_batch,
    load_model,
    log_peak_memory,
    pooled_outputs,
    quiet_progress_bars,
    resolve_device,
    set_trainable,
)
from svd_explain.features import load_inputs, split_recordings
from svd_explain.logs import progress

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ["epoch", "step", "train_loss", "eval_loss", "eval_uar", "eval_auc", "learning_rate"]
FINGERPRINT_FILE = "fingerprint.json"
KEPT_CHECKPOINTS = 2  # the newest (to resume) and the best (load_best_model_at_end keeps it)


class InputDataset(torch.utils.data.Dataset):
    """Rows of `values` under the model's input name, with their labels."""

    def __init__(self, input_name, values, labels):
        if len(values) != len(labels):
            raise ValueError(f"{len(values)} inputs but {len(labels)} labels")
        self.input_name, self.values, self.labels = input_name, values, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return {self.input_name: self.values[index], "labels": self.labels[index]}


class PooledHead(nn.Module):
    """The head of an ASTForAudioClassification on its own, fed with cached pooled outputs.

    It keeps the head's parameter names (classifier.*) and the model's loss function, so the
    Trainer trains it exactly as it would the head inside the full model."""

    def __init__(self, model):
        super().__init__()
        self.classifier = copy.deepcopy(model.classifier)
        self.config = model.config
        self.loss_function = model.loss_function

    def forward(self, pooled, labels=None, **loss_kwargs):
        logits = self.classifier(pooled)
        loss = None if labels is None else self.loss_function(labels, logits, self.config, **loss_kwargs)
        return SequenceClassifierOutput(loss=loss, logits=logits)


class HistoryTrainer(Trainer):
    """A Trainer that adds the epoch's mean training loss and the learning rate to each epoch's
    evaluation entry of the log history (which every checkpoint saves, so resuming keeps it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._epoch_loss = None
        self._epoch_first_step = None

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self._epoch_loss is None:
            self._epoch_loss, self._epoch_first_step = 0.0, self.state.global_step
        loss = super().training_step(model, inputs, num_items_in_batch)
        # The micro-batch losses of one optimizer step add up to that step's mean loss.
        self._epoch_loss = self._epoch_loss + loss
        return loss

    def log(self, logs, start_time=None):
        if "eval_loss" in logs and self._epoch_loss is not None:
            steps = max(self.state.global_step - self._epoch_first_step, 1)
            logs = {
                **logs,
                "train_loss": float(self._epoch_loss) / steps,
                "learning_rate": self.lr_scheduler.get_last_lr()[0],
            }
            self._epoch_loss = None
        super().log(logs, start_time)

    def _save(self, output_dir=None, state_dict=None):
        # transformers 5.24 writes checkpoints with the hub's (pre-5.9) weight names but loads them
        # back for resuming and for the best model with a plain load_state_dict, without renaming
        # (huggingface/transformers#43701): the encoder would silently keep the wrong weights.
        # Checkpoints keep the model's own names, and only safetensors (no pickled
        # training_args.bin, which the Trainer writes but never reads back).
        output_dir = Path(output_dir or self.args.output_dir)
        if isinstance(self.model, PreTrainedModel):
            self.model.save_pretrained(output_dir, state_dict=state_dict, save_original_format=False)
        else:
            output_dir.mkdir(parents=True, exist_ok=True)
            save_file(state_dict or self.model.state_dict(), output_dir / SAFE_WEIGHTS_NAME, metadata={"format": "pt"})


class StepClock(TrainerCallback):
    """The time spent in training steps: each epoch from its start to its last optimizer step
    (the GPU's queue drained), without the evaluation and the checkpoint that follow it."""

    def __init__(self, device):
        self.device, self.seconds, self.epochs, self._start = device, 0.0, 0, None

    def _now(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._start = self._now()

    def on_epoch_end(self, args, state, control, **kwargs):
        if self._start is not None:
            self.seconds += self._now() - self._start
            self.epochs += 1
            self._start = None


class ProgressLog(TrainerCallback):
    """Training progress: one line per logging step in the rule's log; the start, one line per
    epoch and the end (early stopping or not) on the terminal too (logs.progress)."""

    def __init__(self, patience: int):
        self.patience = patience

    def on_train_begin(self, args, state, control, **kwargs):
        progress.info(
            "training %d optimizer steps (%d epochs), starting at step %d",
            state.max_steps, args.num_train_epochs, state.global_step,
        )

    def on_log(self, args, state, control, logs=None, **kwargs):
        if "loss" in logs:
            log.info(
                "step %d/%d (epoch %.2f): loss %.4f, learning rate %.3g",
                state.global_step, state.max_steps, logs.get("epoch", state.epoch), logs["loss"],
                logs.get("learning_rate", float("nan")),
            )
        elif "eval_loss" in logs:
            progress.info(
                "epoch %d/%d: train loss %.4f, dev loss %.4f, dev UAR %.4f, dev AUC %.4f (best %s %.4f)",
                round(logs["epoch"]), args.num_train_epochs, logs.get("train_loss", float("nan")),
                logs["eval_loss"], logs["eval_uar"], logs["eval_auc"], args.metric_for_best_model,
                max(logs[f"eval_{args.metric_for_best_model}"], state.best_metric or -np.inf),
            )

    def on_train_end(self, args, state, control, **kwargs):
        epoch = round(state.epoch or 0)
        if state.global_step < state.max_steps:
            progress.info(
                "early stopping at epoch %d of %d (patience %d: dev %s did not improve for %d evaluations); "
                "best %.4f at %s",
                epoch, args.num_train_epochs, self.patience, args.metric_for_best_model, self.patience,
                state.best_metric, state.best_model_checkpoint,
            )
        else:
            progress.info("all %d epochs trained; best dev %s %.4f at %s", epoch, args.metric_for_best_model,
                          state.best_metric, state.best_model_checkpoint)


def dev_metrics(prediction):
    """UAR (balanced accuracy of the argmax) and ROC AUC of P(pathological)."""
    logits, labels = prediction.predictions, prediction.label_ids
    scores = softmax(logits.astype(np.float64), axis=1)[:, 1]
    return {
        "uar": balanced_accuracy_score(labels, logits.argmax(axis=1)),
        "auc": roc_auc_score(labels, scores),
    }


def class_weighted_loss(train_labels):
    """The Trainer's `compute_loss_func` for `training.class_weighted_loss`: cross-entropy with
    each class weighted by n / (2 n_class) of the train split, summed and divided by the
    number of labels in the accumulated batch, as the model's own loss is."""
    counts = torch.bincount(train_labels, minlength=2).double()
    weights = (counts.sum() / (2 * counts)).float()

    def loss(outputs, labels, num_items_in_batch=None):
        logits = outputs["logits"]
        weighted = nn.functional.cross_entropy(logits.float(), labels, weight=weights.to(logits.device), reduction="sum")
        return weighted / (num_items_in_batch if num_items_in_batch is not None else labels.numel())

    return loss


def _require_both_labels(rows, split):
    counts = rows["label"].value_counts()
    if len(rows) == 0 or counts.get(0, 0) == 0 or counts.get(1, 0) == 0:
        raise ValueError(
            f"the {split} split needs healthy and pathological recordings, it has "
            f"{counts.get(0, 0)} healthy and {counts.get(1, 0)} pathological"
        )


def _fingerprint(settings, base_dir, session_ids, labels, inputs):
    """A hash of everything that decides the training: settings, base checkpoint, train and dev
    data (their model inputs, so a change of audio or of the extractor counts)."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in sorted(Path(base_dir).iterdir()):
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for split in sorted(inputs):
        digest.update(split.encode())
        digest.update(np.asarray(session_ids[split], dtype=np.int64).tobytes())
        digest.update(labels[split].numpy().tobytes())
        digest.update(inputs[split].numpy().tobytes())
    return digest.hexdigest()


def _checkpoint_step(path):
    return int(path.name.removeprefix(PREFIX_CHECKPOINT_DIR + "-"))


def resume_point(work_dir, fingerprint):
    """The newest complete checkpoint to resume from, or None after clearing `work_dir` for a
    fresh start (when it holds another training's checkpoints)."""
    work_dir = Path(work_dir)
    marker = work_dir / FINGERPRINT_FILE
    if marker.is_file() and json.loads(marker.read_text())["fingerprint"] == fingerprint:
        checkpoints = sorted(work_dir.glob(f"{PREFIX_CHECKPOINT_DIR}-*"), key=_checkpoint_step)
        # The Trainer writes trainer_state.json last: a checkpoint without it was interrupted.
        for incomplete in [c for c in checkpoints if not (c / TRAINER_STATE_NAME).is_file()]:
            log.warning("removing the incomplete checkpoint %s", incomplete)
            shutil.rmtree(incomplete)
        complete = [c for c in checkpoints if (c / TRAINER_STATE_NAME).is_file()]
        if complete:
            log.info("resuming from %s", complete[-1])
            return str(complete[-1])
        return None
    if work_dir.exists():
        log.info("%s holds a training with other settings or data; starting afresh", work_dir)
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    marker.write_text(json.dumps({"fingerprint": fingerprint}) + "\n")
    return None


def _training_arguments(work_dir, model_settings, training, seed, num_train, device, precision, batch, accumulation,
                        resident):
    steps_per_epoch = math.ceil(math.ceil(num_train / batch) / accumulation)
    # transformers 5.x has no warmup_ratio; give the warmup in steps, as it computes them from a
    # ratio (a float warmup_steps below 1), which cannot express a ratio of 1.
    warmup_steps = math.ceil(steps_per_epoch * model_settings["epochs"] * training["warmup_ratio"])
    log.info(
        "%d train recordings: %d optimizer steps per epoch (batch %d x %d accumulated), %d warmup steps",
        num_train, steps_per_epoch, batch, accumulation, warmup_steps,
    )
    on_cpu = device.type == "cpu"
    return TrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=model_settings["epochs"],
        learning_rate=model_settings["learning_rate"],
        per_device_train_batch_size=batch,
        per_device_eval_batch_size=device_batch_size(batch, device, INFERENCE_BATCH),
        gradient_accumulation_steps=accumulation,
        warmup_steps=warmup_steps,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=KEPT_CHECKPOINTS,
        load_best_model_at_end=True,
        metric_for_best_model=training["metric_for_best_model"],
        greater_is_better=True,
        restore_callback_states_from_checkpoint=True,
        logging_strategy="steps",
        logging_steps=training["logging_steps"],
        seed=seed,
        data_seed=seed,
        # Deterministic kernels on the CPU (byte-identical reruns); on a GPU they would refuse
        # some attention kernels or slow training down, and bit-identity is not promised there.
        full_determinism=on_cpu,
        use_cpu=on_cpu,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        # Inputs kept on the GPU need no pinned copies; those on the CPU are copied from pinned memory.
        dataloader_pin_memory=not on_cpu and not resident,
        disable_tqdm=True,
        report_to="none",
    )


def train_model(
    base_dir,
    split_path,
    audio_dir,
    model_dir,
    work_dir,
    model_settings,
    training,
    seed,
    threads=None,
    frozen_cache=True,
    callbacks=(),
):
    """Train one model of the `models:` table from the base checkpoint and save it to
    `model_dir`: save_pretrained model + feature extractor, history.tsv, learning_curve.png.

    model_settings: {train: head|all|top_layers, top_layers, learning_rate, epochs, patience};
    training: the `training:` config. frozen_cache=False trains a frozen backbone (`train: head`)
    the straightforward way, through the whole model (for comparison only). `callbacks` are
    extra TrainerCallbacks.

    On a GPU the effective batch is trained in as few passes as fit (gpu_micro_batch) and the
    inputs stay on the GPU where they fit; on the CPU everything runs as configured.

    Returns {training_seconds (the cache, if any, and the Trainer run), epochs, best_epoch,
    step_seconds and step_samples (the training steps alone: StepClock), micro_batch,
    accumulation}."""
    if threads:
        torch.set_num_threads(threads)
    quiet_progress_bars()
    device, precision = resolve_device(training["device"])
    log.info("device %s, mixed precision %s", device, precision or "off")
    model, feature_extractor = load_model(base_dir)
    recordings = split_recordings(split_path, audio_dir)
    rows = {split: recordings[recordings["split"] == split] for split in ("train", "dev")}
    for split, table in rows.items():
        _require_both_labels(table, split)
    inputs = {split: load_inputs(table["wav"], feature_extractor) for split, table in rows.items()}
    labels = {split: torch.tensor(table["label"].to_numpy(), dtype=torch.long) for split, table in rows.items()}
    log.info("train %d, dev %d recordings, input %d frames", len(labels["train"]), len(labels["dev"]), feature_extractor.max_length)

    train_mode = model_settings["train"]
    cached = train_mode == "head" and frozen_cache
    if cached and (model.config.hidden_dropout_prob or model.config.attention_probs_dropout_prob):
        log.warning("the backbone has dropout, so its outputs vary in training: not caching them")
        cached = False
    batch, accumulation = training["per_device_batch_size"], training["gradient_accumulation_steps"]
    if not cached:
        trainable = set_trainable(model, train_mode, model_settings.get("top_layers"))
        # On a GPU: the effective batch in as few passes as fit (the same optimisation).
        batch, accumulation = gpu_micro_batch(model, inputs["train"], labels["train"], batch, accumulation, device, precision)
    settings = {
        "model": model_settings,
        "training": training,
        "seed": seed,
        "cached": cached,
        "device": device.type,
        "precision": precision,
        "micro_batch": [batch, accumulation],
    }
    session_ids = {split: table["session_id"].to_numpy() for split, table in rows.items()}
    resume_from = resume_point(work_dir, _fingerprint(settings, base_dir, session_ids, labels, inputs))

    training_start = time.perf_counter()
    if cached:
        log.info("computing the frozen backbone's pooled outputs once")
        features = {
            split: pooled_outputs(
                model.audio_spectrogram_transformer, values,
                device_batch_size(training["per_device_batch_size"], device, INFERENCE_BATCH), device, precision,
            )
            for split, values in inputs.items()
        }
        trainee, input_name = PooledHead(model), "pooled"
        log.info("training the head only (%d parameters) on cached embeddings", sum(p.numel() for p in trainee.parameters()))
    else:
        features = inputs
        trainee, input_name = model, "input_values"
        log.info("training %s: %d parameters, attention %s", train_mode, trainable, model.config._attn_implementation)
    # On a GPU with room for them, inputs and labels are copied there once, not at every step.
    resident = fits_on_gpu([*features.values(), *labels.values()], device)
    if resident:
        features = {split: values.to(device) for split, values in features.items()}
        log.info("inputs kept on the GPU")
    train_labels = labels["train"].to(device) if resident else labels["train"]
    dev_labels = labels["dev"].to(device) if resident else labels["dev"]

    clock = StepClock(device)
    trainer = HistoryTrainer(
        model=trainee,
        args=_training_arguments(
            work_dir, model_settings, training, seed, len(labels["train"]), device, precision, batch, accumulation,
            resident,
        ),
        train_dataset=InputDataset(input_name, features["train"], train_labels),
        eval_dataset=InputDataset(input_name, features["dev"], dev_labels),
        compute_metrics=dev_metrics,
        compute_loss_func=class_weighted_loss(labels["train"]) if training.get("class_weighted_loss") else None,
        callbacks=[
            EarlyStoppingCallback(model_settings["patience"], training["early_stopping_threshold"]),
            ProgressLog(model_settings["patience"]),
            clock,
            *callbacks,
        ],
    )
    trainer.remove_callback(PrinterCallback)  # prints to stdout; ProgressLog writes the log
    trainer.train(resume_from_checkpoint=resume_from)
    training_seconds = time.perf_counter() - training_start
    log.info(
        "trained in %.1f s; best dev %s %.4f at %s", training_seconds, training["metric_for_best_model"],
        trainer.state.best_metric, trainer.state.best_model_checkpoint,
    )
    samples = clock.epochs * len(labels["train"])
    log.info(
        "training steps: %d epochs x %d recordings in %.1f s, %.1f recordings/s (micro-batch %d x %d accumulated, %s, %s)",
        clock.epochs, len(labels["train"]), clock.seconds, samples / clock.seconds if clock.seconds else float("nan"),
        batch, accumulation, device.type, precision or "float32",
    )
    log_peak_memory(device, "training")

    if cached:
        model.classifier.load_state_dict(trainer.model.classifier.state_dict())
    else:
        model = trainer.model
    model.to("cpu")
    for parameter in model.parameters():
        parameter.requires_grad = True
    model_dir = Path(model_dir)
    model.save_pretrained(model_dir)
    feature_extractor.save_pretrained(model_dir)
    history = training_history(trainer.state.log_history)
    history.to_csv(model_dir / "history.tsv", sep="\t", index=False)
    plot_learning_curve(history, training["metric_for_best_model"], model_dir / "learning_curve.png", title=model_dir.name)
    shutil.rmtree(work_dir)
    log.info("wrote %s", model_dir)
    best = history.loc[history[f"eval_{training['metric_for_best_model']}"].idxmax()]
    return {
        "training_seconds": training_seconds,
        "epochs": len(history),
        "best_epoch": int(best["epoch"]),
        "step_seconds": clock.seconds,
        "step_samples": samples,
        "micro_batch": batch,
        "accumulation": accumulation,
    }


def training_history(log_history, columns=HISTORY_COLUMNS):
    """One row per epoch from the Trainer's log history (its evaluation entries), in `columns`."""
    rows = [entry for entry in log_history if "eval_loss" in entry]
    history = pd.DataFrame(rows).reindex(columns=columns)
    history["epoch"] = history["epoch"].round().astype("int64")
    history["step"] = history["step"].astype("int64")
    return history


def plot_learning_curve(history, metric, path, title):
    """Training and dev loss, dev UAR and AUC per epoch, with the chosen (best) epoch marked."""
    figure = Figure(figsize=(8, 3.6), layout="constrained")
    loss_axes, metric_axes = figure.subplots(1, 2)
    loss_axes.plot(history["epoch"], history["train_loss"], marker="o", label="train")
    loss_axes.plot(history["epoch"], history["eval_loss"], marker="o", label="dev")
    loss_axes.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    metric_axes.plot(history["epoch"], history["eval_uar"], marker="o", label="dev UAR")
    metric_axes.plot(history["epoch"], history["eval_auc"], marker="o", label="dev AUC")
    metric_axes.set(xlabel="epoch", ylabel="score", title="dev metrics", ylim=(0, 1.02))
    best = history.loc[history[f"eval_{metric}"].idxmax(), "epoch"]  # first maximum, as the Trainer keeps
    for axes in (loss_axes, metric_axes):
        axes.axvline(best, color="grey", linestyle=":", label=f"kept (epoch {best})")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=3, frameon=False)
    figure.suptitle(title)
    figure.savefig(path, dpi=120)
