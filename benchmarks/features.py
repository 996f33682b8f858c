"""The per-recording voice-feature stage (openSMILE eGeMAPS and Praat measures, one job per
recording) against the per-recording resample stage, on 2,000 recordings, in the same run.

Both stages run through `snakemake --cores N` on the same corpus (the real session table's first
2,000 sessions, each a 2.5 s harmonic test voice at 50 kHz: f0 with vibrato, harmonics up to
5 kHz, noise; speech-like enough for the catalog's checks and for Praat): first the resample
stage (its jobs are the features' inputs), then the feature stage alone. Beside them, the
in-process cost of one recording's features and of one resampling, so that the job overhead
and the computation can be told apart."""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from svd_explain.audio import resample_recording
from svd_explain.catalog import default_metadata, read_metadata
from svd_explain.voice_features import extract_recording
from workflow_scale import ROOT, SNAKEMAKE, run

RATE = 50000


def make_corpus(folder, n_sessions, seed=0):
    """The first `n_sessions` of the real session table, each with a harmonic test voice."""
    metadata = read_metadata(default_metadata()).head(n_sessions)
    metadata.to_csv(folder / "summary.csv", index=False)
    rng = np.random.default_rng(seed)
    t = np.arange(int(2.5 * RATE)) / RATE
    for session in metadata["AufnahmeID"]:
        f0 = rng.uniform(90, 250) * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        harmonics = range(1, int(5000 / f0.max()) + 1)
        voice = sum(np.sin(k * phase) / k for k in harmonics)
        voice = 0.3 * voice / np.abs(voice).max() + 0.01 * rng.standard_normal(t.size)
        soundfile.write(folder / f"{session}-phrase.wav", voice, RATE, subtype="PCM_16")
    return metadata


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
        resample_s, resample_cpu = run(workflow + ["--cores", str(options.cores), *audio], ROOT)
        features_s, features_cpu = run(workflow + ["--cores", str(options.cores), *features], ROOT)
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
              f"({resample_s / n * 1000:.0f} ms per recording), CPU {resample_cpu:.0f} s")
        print(f"feature stage, {n} recordings through snakemake --cores {options.cores}: {features_s:.1f} s "
              f"({features_s / n * 1000:.0f} ms per recording), CPU {features_cpu:.0f} s")
        print(f"feature stage / resample stage = {features_s / resample_s:.2f} "
              f"(added per recording: {(features_s - resample_s) / n * 1000:.0f} ms)")
        print(f"in one process, per recording: features {features_one * 1000:.0f} ms, "
              f"resampling {resample_one * 1000:.0f} ms (ratio {features_one / resample_one:.1f})")


if __name__ == "__main__":
    main()
