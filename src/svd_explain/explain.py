"""One new recording, no workflow: predictions and the relevance figure of trained models.

    python -m svd_explain.explain MODEL_DIR [MODEL_DIR ...] RECORDING --out DIR
        [--aligner results/alignment/model] [--phrase resources/phrase.txt]

RECORDING is any file the catalog reads (WAV, FLAC, NSP; any rate, any channels); it is mixed to
mono and resampled to the models' rate. MODEL_DIR are `save_pretrained` model folders
(results/models/<model>). With the trained Kaldi aligner (its folder exists) the recording is
aligned to the phrase and the figure shows words and phones; otherwise the figure says why it
has none. Writes, under DIR, named after the recording:
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
from svd_explain.audio import resample_recording
from svd_explain.align.status import read_status
from svd_explain.figures import Panel, draw_relevance_figure, prediction_title
from svd_explain.labels import CLASS_NAMES
from svd_explain.rollout import HEAD_FUSIONS, TOKEN_ROWS, explain_recordings
from svd_explain.textgrids import read_alignment
from svd_explain.thresholds import read_threshold

log = logging.getLogger(__name__)

DEFAULT_ALIGNER = Path("results", "alignment", "model")
DEFAULT_PHRASE = Path(__file__).resolve().parents[2] / "resources" / "phrase.txt"


def align_if_possible(wav_path, aligner_dir, phrase_path, textgrid_path):
    """(words, phones, status) of the recording: aligned with the Kaldi aligner in `aligner_dir`
    when that folder exists; otherwise no segments and the reason."""
    if aligner_dir is None or not Path(aligner_dir).is_dir():
        return None, None, {"aligned": False, "reason": f"no trained aligner at {aligner_dir}"}
    from svd_explain.align.recording import align_recording

    with tempfile.TemporaryDirectory() as scratch:
        status_path = Path(scratch, "status.json")
        # session_id only labels the status file, which stays in the scratch folder
        align_recording(wav_path, aligner_dir, phrase_path, textgrid_path, status_path, session_id=0)
        status = read_status(status_path)
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


def explain(model_dirs, recording, out_dir, aligner_dir=DEFAULT_ALIGNER, phrase_path=DEFAULT_PHRASE,
            head_fusion="mean", tokens="mean", formats=("png",), dpi=200, width_in=7.0, device="auto"):
    """Predict and explain one recording with every model in `model_dirs`; returns the
    summary written to <out_dir>/<name>.json."""
    quiet_progress_bars()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = Path(recording).stem
    models = [(Path(d).name, *load_model(d)) for d in model_dirs]
    thresholds = {Path(d).name: model_threshold(d) for d in model_dirs}
    rates = {extractor.sampling_rate for _, _, extractor in models}
    if len(rates) != 1:
        raise ValueError(f"the models expect different sample rates: {sorted(rates)}")
    wav_path = out_dir / f"{name}.input.wav"
    resample_recording(recording, wav_path, rates.pop())
    words, phones, alignment = align_if_possible(wav_path, aligner_dir, phrase_path, out_dir / f"{name}.TextGrid")

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
    }
    (out_dir / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m svd_explain.explain", description=__doc__.split("\n")[0])
    parser.add_argument("model_dirs", nargs="+", type=Path, help="trained model folder(s)")
    parser.add_argument("recording", type=Path, help="the recording (WAV, FLAC or NSP)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--aligner", type=Path, default=DEFAULT_ALIGNER,
                        help="trained Kaldi aligner folder (used when it exists; default %(default)s)")
    parser.add_argument("--phrase", type=Path, default=DEFAULT_PHRASE, help="the text read (default %(default)s)")
    parser.add_argument("--head-fusion", choices=HEAD_FUSIONS, default="mean")
    parser.add_argument("--tokens", choices=sorted(TOKEN_ROWS), default="mean")
    parser.add_argument("--formats", nargs="+", choices=("png", "pdf"), default=["png"])
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--width-in", type=float, default=7.0)
    parser.add_argument("--device", choices=("auto", "cpu"), default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = explain(args.model_dirs, args.recording, args.out, args.aligner, args.phrase, args.head_fusion,
                      args.tokens, args.formats, args.dpi, args.width_in, args.device)
    for prediction in summary["predictions"]:
        print(f"{prediction['model']}: {prediction['predicted']} (P(pathological) = {prediction['score']:.3f})")
    print("figure:", ", ".join(summary["figures"]))


if __name__ == "__main__":
    main()
