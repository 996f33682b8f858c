"""Synthetic corpus generation: seconds per recording with a process pool (`--threads`)
against a single process (the baseline, measured in the same run), and the time this
projects for the 2,000-session benchmark corpus.

`python benchmarks/synth.py [--n-sessions 80] [--threads 2]`"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from svd_explain.synth import write_corpus  # noqa: E402


def time_corpus(folder, n_sessions, threads, seed):
    start = time.perf_counter()
    write_corpus(folder, n_sessions, "archive", seed, 1.0, threads=threads)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-sessions", type=int, default=80)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        single = time_corpus(Path(tmp, "single"), args.n_sessions, 1, args.seed)
        pooled = time_corpus(Path(tmp, "pooled"), args.n_sessions, args.threads, args.seed)
    per_single, per_pooled = single / args.n_sessions, pooled / args.n_sessions
    print(f"{args.n_sessions} recordings, 1 process:        {single:7.2f} s  ({1000 * per_single:.0f} ms per recording)")
    print(f"{args.n_sessions} recordings, {args.threads} processes:      {pooled:7.2f} s  ({1000 * per_pooled:.0f} ms per recording)")
    print(f"speed-up over 1 process: {single / pooled:.2f}x")
    print(f"projected for 2,000 recordings with {args.threads} processes: {2000 * per_pooled / 60:.1f} min")


if __name__ == "__main__":
    main()
