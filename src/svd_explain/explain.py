"""One new recording, no workflow: predictions and the relevance figure of trained models.

    python -m svd_explain.explain MODEL_DIR [MODEL_DIR ...] RECORDING --out DIR
        [--aligner DIR] [--phrase resources/phrase.txt]

RECORDING is any file the catalog reads (WAV, FLAC, NSP; any rate, any channels); the catalog's
checks apply (a file that is empty, corrupt, silent, too short or too long, or holds NaN gets no
verdict); it is mixed to mono and resampled to the models' rate. MODEL_DIR are
`save_pretrained` model folders (results/models/<model>). The trained Kaldi aligner is the one
of the same run (results/alignment/model beside results/models/), or the folder --aligner
names; with it the recording is aligned to the phrase and the figure shows words and phones,
otherwise the terminal and the figure say why there are none. An error is one line naming the
file and the reason, with exit status 2. Writes, under DIR, named after the recording:
  <name>.input.wav      the recording as the models hear it (mono, at their rate)
  <name>.json           per model: P(pathological), the threshold (the model's dev-chosen one,
                        results/models/<model>.threshold.json, when it is beside the folder)
                        and the predicted class; the alignment's status
  <name>.png (.pdf)     the relevance figure, models side by side
  <name>.TextGrid       the alignment, when there is one"""
import argparse
import json
import logging
import tempfile
from pathlib import Path

from svd_explain.ast_model import load_model, quiet_progress_bars, resolve_device
from svd_explain.audio import BadRecording, check_recording, read_recording, resample_recording
from svd_explain.align.status import read_status
from svd_explain.figures import Panel, draw_relevance_figure, prediction_title
from svd_explain.labels import CLASS_NAMES
from svd_explain.rollout import HEAD_FUSIONS, TOKEN_ROWS, explain_recordings
from svd_explain.textgrids import read_alignment
from svd_explain.thresholds import read_threshold

log = logging.getLogger(__name__)

DEFAULT_PHRASE = Path(__file__).resolve().parents[2] / "resources" / "phrase.txt"
# The catalog's duration bounds (config.yaml's catalog.min_duration_s and max_duration_s).
MIN_DURATION_S, MAX_DURATION_S = 0.5, 30.0
# The real checkpoint's width: a narrower model is one the demo built (checkpoint.tiny).
STUDY_HIDDEN_SIZE = 768


class ExplainError(ValueError):
    """A problem with the command's inputs; the message is one line naming the path."""


def run_aligner(model_dirs) -> Path:
    """The aligner of the run the models come from: results/alignment/model beside results/models/."""
    return Path(model_dirs[0]).resolve().parent.parent / "alignment" / "model"


def demo_model_note(model_name, model) -> str | None:
    """A warning when a model is narrower than the study's AST, as the demo's are."""
    config = model.config
    if config.hidden_size >= STUDY_HIDDEN_SIZE:
        return None
    return (f"{model_name} is a small AST ({config.hidden_size} wide, {config.num_hidden_layers} layers), like the "
            f"demo's trained on synthetic voices: its verdict says nothing about a real voice")


def align_if_possible(wav_path, aligner_dir, phrase_path, textgrid_path):
    """(words, phones, status) of the recording: aligned with the Kaldi aligner in `aligner_dir`
    when that folder exists; otherwise no segments and the reason."""
    if aligner_dir is None or not Path(aligner_dir).is_dir():
        return None, None, {"aligned": False, "reason": f"no trained aligner at {aligner_dir}"}
    from svd_explain.align.recording import align_recording

    with tempfile.TemporaryDirectory() as scratch:
        status_path = Path(scratch, "status.json")
        # align_recording logs per workflow session ("session 0" here): its lines are held back
        # and the outcome is logged below under the file's name.
        align_log = logging.getLogger("svd_explain.align")
        level = align_log.level
        align_log.setLevel(logging.ERROR)
        try:
            align_recording(wav_path, aligner_dir, phrase_path, textgrid_path, status_path, session_id=0)
        finally:
            align_log.setLevel(level)
        status = read_status(status_path)
    outcome = "alignment doubtful" if status["doubtful"] else "aligned" if status["aligned"] else "not aligned"
    log.info("%s: %s%s", Path(wav_path).name, outcome, f": {status['reason']}" if status["reason"] else "")
    if not status["aligned"]:
        Path(textgrid_path).unlink(missing_ok=True)
        return None, None, {"aligned": False, "reason": status["reason"]}
    words, phones, _ = read_alignment(textgrid_path)
    return words, phones, {"aligned": True, "doubtful": status["doubtful"], "reason": status["reason"], "textgrid": str(textgrid_path)}


def model_threshold(model_dir) -> float:
    """The model's dev-chosen decision threshold, written beside its folder by the workflow
    (results/models/<model>.threshold.json); 0.5 (the argmax) for a folder without one."""
    path = Path(model_dir).parent / f"{Path(model_dir).name}.threshold.json"
    if path.is_file():
        return read_threshold(path)
    log.warning("%s: no %s beside the model: deciding at P(pathological) ≥ 0.5", model_dir, path.name)
    return 0.5


def explain(model_dirs, recording, out_dir, aligner_dir=None, phrase_path=DEFAULT_PHRASE,
            head_fusion="mean", tokens="mean", formats=("png",), dpi=200, width_in=7.0, device="auto"):
    """Predict and explain one recording with every model in `model_dirs`; returns the
    summary written to <out_dir>/<name>.json. aligner_dir None: the run's (run_aligner).
    A recording the catalog would exclude raises BadRecording; a missing model folder or
    recording raises ExplainError."""
    quiet_progress_bars()
    missing = [str(d) for d in [*model_dirs, recording] if not Path(d).exists()]
    if missing:
        raise ExplainError(f"{missing[0]}: no such file or folder")
    samples, rate = read_recording(recording)
    check_recording(samples, rate, MIN_DURATION_S, MAX_DURATION_S)
    aligner_dir = run_aligner(model_dirs) if aligner_dir is None else Path(aligner_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = Path(recording).stem
    models = [(Path(d).name, *load_model(d)) for d in model_dirs]
    notes = [note for model_name, model, _ in models if (note := demo_model_note(model_name, model))]
    thresholds = {Path(d).name: model_threshold(d) for d in model_dirs}
    rates = {extractor.sampling_rate for _, _, extractor in models}
    if len(rates) != 1:
        raise ValueError(f"the models expect different sample rates: {sorted(rates)}")
    wav_path = out_dir / f"{name}.input.wav"
    resample_recording(recording, wav_path, rates.pop())
    words, phones, alignment = align_if_possible(wav_path, aligner_dir, phrase_path, out_dir / f"{name}.TextGrid")
    if not alignment["aligned"]:
        log.warning("no phones in the figure: %s%s", alignment["reason"],
                    " (name the aligner with --aligner DIR)" if not aligner_dir.is_dir() else "")

    panels, predictions = [], []
    for model_name, model, extractor in models:
        model = model.to(resolve_device(device)[0]).eval()
        _, score, relevance, fbank, _ = next(explain_recordings(model, extractor, [wav_path], head_fusion, tokens))
        pred = int(score >= thresholds[model_name])  # the workflow's decision rule
        predictions.append({"model": model_name, "score": score, "threshold": thresholds[model_name], "pred": pred,
                            "predicted": CLASS_NAMES[pred]})
        panels.append(Panel(prediction_title(model_name, score, pred), fbank, relevance))
        log.info("%s: P(pathological) = %.3f", model_name, score)

    figure_paths = [out_dir / f"{name}.{fmt}" for fmt in formats]
    title = f"{Path(recording).name} · rollout: heads {head_fusion}, tokens {tokens}"
    if phones is not None:
        draw_relevance_figure(panels, title, figure_paths, words, phones, dpi=dpi, width_in=width_in)
    else:
        draw_relevance_figure(panels, title, figure_paths, alignment_note=f"no phones: {alignment['reason']}",
                              dpi=dpi, width_in=width_in)
    summary = {
        "recording": str(recording),
        "audio": str(wav_path),
        "predictions": predictions,
        "rollout": {"head_fusion": head_fusion, "tokens": tokens},
        "alignment": alignment,
        "figures": [str(p) for p in figure_paths],
        "notes": notes,
    }
    (out_dir / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m svd_explain.explain", description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path, help="trained model folder(s)")
    parser.add_argument("recording", type=Path, help="the recording (WAV, FLAC or NSP)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--aligner", type=Path, default=None,
                        help="trained Kaldi aligner folder (default: results/alignment/model of the models' run)")
    parser.add_argument("--phrase", type=Path, default=DEFAULT_PHRASE, help="the text read (default %(default)s)")
    parser.add_argument("--head-fusion", choices=HEAD_FUSIONS, default="mean")
    parser.add_argument("--tokens", choices=sorted(TOKEN_ROWS), default="mean")
    parser.add_argument("--formats", nargs="+", choices=("png", "pdf"), default=["png"])
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--width-in", type=float, default=7.0)
    parser.add_argument("--device", choices=("auto", "cpu"), default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        summary = explain(args.model_dirs, args.recording, args.out, args.aligner, args.phrase, args.head_fusion,
                          args.tokens, args.formats, args.dpi, args.width_in, args.device)
    except BadRecording as error:
        parser.exit(2, f"error: {args.recording}: {error}; no verdict\n")
    except ExplainError as error:
        parser.exit(2, f"error: {error}\n")
    for note in summary["notes"]:
        print("note:", note)
    for prediction in summary["predictions"]:
        print(f"{prediction['model']}: {prediction['predicted']} (P(pathological) = {prediction['score']:.3f})")
    print("figure:", ", ".join(summary["figures"]))


if __name__ == "__main__":
    main()
