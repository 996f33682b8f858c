"""The Kaldi GMM-HMM aligner on the demo-size synthetic corpus (200 sessions, the committed
config's align.kaldi settings). Prints:

1. the training time (flat start + EM), per EM iteration too, against the time to compute the
   features of the same recordings (the baseline, measured in the same run);
2. the per-recording alignment time in one process (model loading, features, graph, Viterbi,
   TextGrid and status written: what one job does after start-up), against feature extraction
   alone, with the Viterbi search alone for reference;
3. a whole per-recording job as Snakemake runs it, in a fresh Python process, against a fresh
   process that only imports the aligner (the start-up cost every job pays);
4. the boundary accuracy against the synthetic truth, for context.

`python benchmarks/align.py [--sessions 200] [--jobs 5] [--threads 2]`"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from svd_explain.align import kaldi  # noqa: E402
from svd_explain.align.accuracy import accuracy_table  # noqa: E402
from svd_explain.align.lexicon import read_transcript  # noqa: E402
from svd_explain.align.training import train_aligner  # noqa: E402
from svd_explain.audio import resample_recording  # noqa: E402
from svd_explain.synth.corpus import write_corpus  # noqa: E402

PHRASE = ROOT / "resources" / "phrase.txt"
LEXICON = ROOT / "resources" / "lexicon.txt"
RATE = 16000


def demo_corpus(folder, sessions, seed, threads):
    """The synthetic corpus at 16 kHz: (wav paths, truth folder)."""
    write_corpus(folder / "corpus", sessions, "flat", seed, 1.0, threads=threads)
    (folder / "audio").mkdir()
    wavs = []
    for path in sorted((folder / "corpus").glob("*-phrase.wav")):
        wavs.append(folder / "audio" / f"{path.name.split('-')[0]}.wav")
        resample_recording(path, wavs[-1], RATE)
    return wavs, folder / "corpus" / "truth"


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def fresh_process(code):
    """Wall time of a new Python process running `code` (with the project's package)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": ""})
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=5, help="fresh-process alignment jobs to time")
    parser.add_argument("--threads", type=int, default=2, help="processes writing the corpus")
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    settings = config["align"]["kaldi"]
    print(
        f"{args.sessions} synthetic sessions, em_iterations {settings['em_iterations']}, split_at "
        f"{settings['split_at']}, max_gaussians {settings['max_gaussians']}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seconds, (wavs, truth) = timed(demo_corpus, tmp, args.sessions, config["seed"], args.threads)
        print(f"(corpus written and resampled in {seconds:.1f} s: {len(wavs)} recordings)")

        feature_s = 0.0
        for wav in wavs:
            samples, rate = kaldi.read_audio(wav)
            feature_s += timed(kaldi.mfcc_features, samples, rate)[0]
        train_s, summary = timed(
            train_aligner, wavs, PHRASE, LEXICON, tmp / "model", settings["em_iterations"],
            settings["split_at"], settings["max_gaussians"], settings["silence_probability"], RATE, config["seed"],
        )
        iterations = summary["training"]["em_iterations"]
        print(f"training: {train_s:.1f} s ({train_s / iterations:.2f} s per EM iteration on {len(wavs)} recordings)")
        print(f"  baseline, features of every recording: {feature_s:.2f} s; training / features = {train_s / feature_s:.0f}x")

        alignments = tmp / "alignments"
        (alignments / "status").mkdir(parents=True)
        per_recording, search = [], []
        model, model_settings = kaldi.GmmHmm.load(tmp / "model")
        words = read_transcript(PHRASE)
        graph = model.graph(words, model_settings["silence_probability"])
        for wav in wavs:
            seconds, _ = timed(
                kaldi.align_recording, wav, tmp / "model", PHRASE,
                alignments / f"{wav.stem}.TextGrid", alignments / "status" / f"{wav.stem}.json", wav.stem,
            )
            per_recording.append(seconds)
            samples, rate = kaldi.read_audio(wav)
            recording = kaldi.prepare_recording(wav.stem, samples, rate, model.min_frames(words))
            search.append(timed(model.viterbi, graph, recording.feats)[0])
        mean_features = feature_s / len(wavs)
        align_ms = 1000 * statistics.mean(per_recording)
        print(
            f"alignment per recording, in process: mean {align_ms:.1f} ms, median "
            f"{1000 * statistics.median(per_recording):.1f} ms, max {1000 * max(per_recording):.1f} ms"
        )
        print(f"  baseline, features alone: {1000 * mean_features:.1f} ms; alignment / features = {align_ms / (1000 * mean_features):.1f}x")
        print(f"  of which the Viterbi search: {1000 * statistics.mean(search):.2f} ms")

        job = (
            "from svd_explain.align.kaldi import align_recording\n"
            "align_recording({wav!r}, {model!r}, {phrase!r}, {tg!r}, {status!r}, {session!r})\n"
        )
        job_s = [
            fresh_process(job.format(
                wav=str(wav), model=str(tmp / "model"), phrase=str(PHRASE), tg=str(tmp / "job.TextGrid"),
                status=str(tmp / "job.json"), session=wav.stem,
            ))
            for wav in wavs[: args.jobs]
        ]
        startup_s = [fresh_process("import svd_explain.align.kaldi") for _ in range(args.jobs)]
        print(
            f"one alignment job in a fresh process: median {1000 * statistics.median(job_s):.0f} ms "
            f"({args.jobs} jobs)"
        )
        print(
            f"  baseline, a fresh process importing the aligner: median {1000 * statistics.median(startup_s):.0f} ms; "
            f"job / start-up = {statistics.median(job_s) / statistics.median(startup_s):.2f}x"
        )

        overall = accuracy_table(
            [(truth / f"{w.stem}.TextGrid", alignments / f"{w.stem}.TextGrid") for w in wavs]
        ).set_index("phone").loc["overall"]
        print(
            f"accuracy: {100 * overall.within_20ms:.1f} % of {int(overall.n)} boundaries within 20 ms, "
            f"median {overall.median_ms:.1f} ms, 90th percentile {overall.p90_ms:.1f} ms"
        )


if __name__ == "__main__":
    main()
