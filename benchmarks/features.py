"""The per-recording voice-feature stage (openSMILE eGeMAPS and Praat measures, one job per
recording) against the per-recording resample stage, on 2,000 recordings, in the same run.

Both stages run through `snakemake --cores N` on the same corpus (workflow_scale's: the real
session table's first 2,000 sessions with 2.5 s test signals at 50 kHz): first the resample
stage (its jobs are the features' inputs), then the feature stage alone. Beside them, the
in-process cost of one recording's features and of one resampling, so that the job overhead
and the computation can be told apart."""
import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from svd_explain.audio import resample_recording
from svd_explain.voice_features import extract_recording
from workflow_scale import ROOT, SNAKEMAKE, make_corpus, run


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--in-process", type=int, default=100, help="recordings timed in one process")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "raw").mkdir()
        make_corpus(tmp / "raw", options.sessions)
        config = [
            "--config", f"corpus={{source: svd, root: {tmp / 'raw'}, metadata: {tmp / 'raw' / 'summary.csv'}}}",
            f"results={tmp / 'results'}",
            "catalog={sessions: all}",
        ]
        workflow = SNAKEMAKE + ["-s", str(ROOT / "Snakefile"), "-d", str(tmp)] + config
        run(workflow + ["--cores", "1", "--until", "catalog"], ROOT)
        sessions = pd.read_parquet(tmp / "results" / "catalog" / "sessions.parquet")["session_id"].tolist()
        n = len(sessions)
        audio = [str(tmp / "results" / "audio" / f"{s}.wav") for s in sessions]
        features = [str(tmp / "results" / "features" / "recordings" / f"{s}.json") for s in sessions]
        resample_s = run(workflow + ["--cores", str(options.cores), *audio], ROOT)
        features_s = run(workflow + ["--cores", str(options.cores), *features], ROOT)
        written = len(list((tmp / "results" / "features" / "recordings").glob("*.json")))
        if written != n:
            raise RuntimeError(f"the feature stage wrote {written} of {n} recordings")

        timed = sessions[: options.in_process]
        start = time.perf_counter()
        for session in timed:
            resample_recording(tmp / "raw" / f"{session}-phrase.wav", tmp / "loop" / f"{session}.wav", 16000)
        resample_one = (time.perf_counter() - start) / len(timed)
        start = time.perf_counter()
        for session in timed:
            extract_recording(tmp / "loop" / f"{session}.wav", tmp / "loop" / f"{session}.json", session)
        features_one = (time.perf_counter() - start) / len(timed)

        print(f"resample stage, {n} recordings through snakemake --cores {options.cores}: {resample_s:.1f} s "
              f"({resample_s / n * 1000:.0f} ms per recording)")
        print(f"feature stage, {n} recordings through snakemake --cores {options.cores}: {features_s:.1f} s "
              f"({features_s / n * 1000:.0f} ms per recording)")
        print(f"feature stage / resample stage = {features_s / resample_s:.2f} "
              f"(added per recording: {(features_s - resample_s) / n * 1000:.0f} ms)")
        print(f"in one process, per recording: features {features_one * 1000:.0f} ms, "
              f"resampling {resample_one * 1000:.0f} ms (ratio {features_one / resample_one:.1f})")


if __name__ == "__main__":
    main()
