"""The Kaldi aligner on speech this project did not write, against today's aligner measured in the
same run.

Sources (benchmarks/external_speech.py says how each is made and where its truth comes from):
  mbrola     MBROLA diphone voices from recordings of real German speakers, eSpeak NG's prosody
  espeak     eSpeak NG's own formant synthesiser, 14 male and 8 female voice variants
  synthetic  the project's own corpus made hard: perturbations at twice their strength
             (perturbation_scale 2) and noise at 15 dB SNR
  mbrola-nl, espeak-nl, mbrola-en, espeak-en, mbrola-fr, espeak-fr
             the same two engines in Dutch, English and French, each language with its own
             phrase and lexicon (benchmarks/languages/<lang>/), which the aligner is given
The German external voices are those the aligner was *not* tuned on (external_speech.TUNING_VOICES
are left out); `--tuning-voices` scores those instead (the other languages have none: nobody
looked at them while the aligner was designed, so all their voices are held out, and
`--tuning-voices` skips them). `--languages nl en fr` keeps only the sources of those languages
(`de`: mbrola, espeak and synthetic).

For every source, corpus size (`--sizes`, 60 and 200 recordings) and seed (`--seeds`, three),
both aligners are trained on the corpus and align every recording, each in its own process:
  new       this checkout's aligner (the committed config's align.kaldi settings)
  baseline  today's aligner, taken from git (BASELINE_COMMIT, its own settings), if the
            checkout has that history
It prints, per corpus and method: the share of boundaries within 10 / 20 / 50 ms, the median
and 90th percentile error, the recordings whose median error passes 100 ms and how many of them
the guard failed to flag (not aligned or doubtful), the training time and the alignment time
per recording (and, on the first corpus, the wall time of one alignment job in a fresh
process), with the new method's ratio to the baseline's; then the signed error of every
boundary of the phrase, pooled over each source's corpora. The corpora are generated here
(cached in benchmarks/out/align_external/corpora/, the alignments of the last run in
benchmarks/out/align_external/runs/; `--out` for another folder); no audio is committed.

`python benchmarks/run.py align_external`, or `python benchmarks/align_external.py [--quick]`
(--quick: 60 recordings, one seed). Needs the TTS engines: `bash benchmarks/install_tts.sh`."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "src")]

import external_speech  # noqa: E402
from svd_explain.align.accuracy import boundary_table, distinct_boundaries  # noqa: E402
from svd_explain.align.status import phones_usable  # noqa: E402
from svd_explain.audio import resample_recording  # noqa: E402
from svd_explain.textgrids import read_alignment  # noqa: E402

# The last commit with the aligner this benchmark compares against (the broad-class flat start
# with hand-set spectral thresholds), and the settings its config had.
BASELINE_COMMIT = "41d33cb"
BASELINE_SETTINGS = {"em_iterations": 30, "split_at": [4, 8, 12, 16, 20], "max_gaussians": 16, "silence_probability": 0.5}
OUT = HERE / "out" / "align_external"
RATE = 16000
HARD_SCALE, HARD_SNR_DB = 2.0, 15.0
BAD_RECORDING_MS = 100.0

# Trains and aligns in a fresh process; `align_recording` comes from the new or the baseline
# package (same signature); prints a JSON line with the timings.
RUNNER = r"""
import json, sys, time
from pathlib import Path
from svd_explain.align.training import train_aligner
try:
    from svd_explain.align.recording import align_recording
except ImportError:
    from svd_explain.align.kaldi import align_recording
spec = json.loads(sys.argv[1])
wavs = [Path(p) for p in spec["wavs"]]
out = Path(spec["out"]); (out / "status").mkdir(parents=True, exist_ok=True)
started = time.perf_counter()
train_aligner(wavs, spec["phrase"], spec["lexicon"], out / "model", sample_rate=16000, seed=13, **spec["settings"])
trained = time.perf_counter()
for wav in wavs:
    align_recording(wav, out / "model", spec["phrase"], out / f"{wav.stem}.TextGrid", out / "status" / f"{wav.stem}.json", wav.stem)
done = time.perf_counter()
print(json.dumps({"train_s": trained - started, "align_ms": 1000 * (done - trained) / len(wavs)}))
"""


def make_corpus(source, size, seed, tuning, out=OUT):
    """The corpus (16 kHz WAVs, truth TextGrids) of one source, size and seed, cached in `out`."""
    folder = out / "corpora" / f"{source}{'-tuning' if tuning else ''}-{size}-{seed}"
    if (folder / "done").is_file():
        return sorted((folder / "audio").glob("*.wav")), folder / "raw" / "truth"
    shutil.rmtree(folder, ignore_errors=True)
    raw = folder / "raw"
    if source == "synthetic":
        from svd_explain.synth.corpus import write_corpus

        write_corpus(raw, size, "flat", seed, HARD_SCALE, threads=2)
        add_noise(raw, HARD_SNR_DB, seed)
    else:
        tuned = external_speech.TUNING_VOICES.get(source, ())
        pool = [v for v in sorted(external_speech.voices(source)) if (v in tuned) == tuning]
        external_speech.write_corpus(raw, source, size, seed, pool)
    (folder / "audio").mkdir()
    for path in sorted(raw.glob("*-phrase.wav")):
        resample_recording(path, folder / "audio" / f"{path.name.split('-')[0]}.wav", RATE)
    (folder / "done").write_text("")
    return sorted((folder / "audio").glob("*.wav")), raw / "truth"


def add_noise(folder, snr_db, seed):
    """White noise at `snr_db` below each recording's speech level (its louder half)."""
    rng = np.random.default_rng(seed)
    for path in sorted(folder.glob("*-phrase.wav")):
        samples, rate = soundfile.read(path)
        loud = np.sort(samples**2)[len(samples) // 2:]
        noise = rng.standard_normal(len(samples)) * np.sqrt(loud.mean()) * 10 ** (-snr_db / 20)
        noisy = samples + noise
        soundfile.write(path, 0.9 * noisy / np.abs(noisy).max(), rate, subtype="PCM_16")


def baseline_package(folder):
    """The baseline aligner's package (src/) from git, or None without that history."""
    target = folder / "baseline"
    if (target / "src").is_dir():
        return target / "src"
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "src"], capture_output=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def phrase_and_lexicon(source):
    """The phrase and lexicon files the aligners are given for a source."""
    if source == "synthetic":
        return ROOT / "resources" / "phrase.txt", ROOT / "resources" / "lexicon.txt"
    return external_speech.phrase_and_lexicon(source)


def source_language(source):
    return "de" if source == "synthetic" else external_speech.source_parts(source)[1]


def run_method(package, settings, wavs, out, phrase, lexicon):
    spec = {"wavs": [str(w) for w in wavs], "out": str(out), "phrase": str(phrase), "lexicon": str(lexicon), "settings": settings}
    env = {**os.environ, "PYTHONPATH": str(package), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(spec)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


JOB = r"""
import sys
from pathlib import Path
try:
    from svd_explain.align.recording import align_recording
except ImportError:
    from svd_explain.align.kaldi import align_recording
wav, model, phrase, out = map(Path, sys.argv[1:5])
align_recording(wav, model, phrase, out / "job.TextGrid", out / "job.json", wav.stem)
"""


def job_seconds(package, model_dir, wavs, out, phrase, count=5):
    """Median wall time of `count` single-recording alignment jobs, each a fresh Python process
    (what one Snakemake job of the alignment stage runs, less Snakemake's own cost)."""
    env = {**os.environ, "PYTHONPATH": str(package), "OMP_NUM_THREADS": "1"}
    times = []
    for wav in wavs[:count]:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", JOB, str(wav), str(model_dir), str(phrase), str(out)],
                       check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def read_any_status(path):
    """A status of either format (the baseline's has no `doubtful`)."""
    status = json.loads(Path(path).read_text(encoding="utf-8"))
    return {"doubtful": False, **status}


def score(wavs, truth, found):
    """Accuracy of one method on one corpus, and the aligned (truth, found) pairs."""
    errors, pairs, bad, bad_unflagged, flagged = [], [], 0, 0, 0
    for wav in wavs:
        status = read_any_status(found / "status" / f"{wav.stem}.json")
        if not phones_usable(status):
            flagged += 1
        if not status["aligned"]:
            continue
        pair = (truth / f"{wav.stem}.TextGrid", found / f"{wav.stem}.TextGrid")
        pairs.append(pair)
        true_phones, found_phones = (read_alignment(p)[1] for p in pair)
        recording = [1000 * (f - t) for _, _, t, f in distinct_boundaries(true_phones, found_phones)]
        errors += recording
        if np.median(np.abs(recording)) > BAD_RECORDING_MS:
            bad += 1
            bad_unflagged += phones_usable(status)
    errors = np.abs(np.asarray(errors))
    return {
        "within_10": float(np.mean(errors <= 10)), "within_20": float(np.mean(errors <= 20)),
        "within_50": float(np.mean(errors <= 50)), "median_ms": float(np.median(errors)),
        "p90_ms": float(np.percentile(errors, 90)), "flagged": flagged, "bad": bad, "bad_unflagged": bad_unflagged,
    }, pairs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sources = [*external_speech.SOURCES[:2], "synthetic", *external_speech.SOURCES[2:]]
    parser.add_argument("--sources", nargs="+", default=sources, choices=sources)
    parser.add_argument("--languages", nargs="+", choices=sorted(external_speech.LANGUAGES),
                        help="only the sources of these languages (de: mbrola, espeak, synthetic)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[60, 200])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tuning-voices", action="store_true", help="score the voices tuning looked at instead")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--quick", action="store_true", help="60 recordings, one seed")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT.relative_to(ROOT)})")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seeds = [60], [0]
    if args.languages:
        args.sources = [s for s in args.sources if source_language(s) in args.languages]
    if args.tuning_voices:
        untuned = [s for s in args.sources if s != "synthetic" and s not in external_speech.TUNING_VOICES]
        if untuned:
            print(f"(no tuning voices in {untuned}: held out entirely, skipped with --tuning-voices)")
        args.sources = [s for s in args.sources if s not in untuned]
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    new_settings = {k: v for k, v in config["align"]["kaldi"].items() if k != "model"}
    args.out.mkdir(parents=True, exist_ok=True)
    baseline = None if args.no_baseline else baseline_package(args.out)
    if baseline is None and not args.no_baseline:
        print(f"(no git history for the baseline commit {BASELINE_COMMIT}: baseline skipped)")
    methods = [("new", ROOT / "src", new_settings)] + ([("baseline", baseline, BASELINE_SETTINGS)] if baseline else [])
    voices = "tuning" if args.tuning_voices else "held-out"
    print(f"voices: {voices}; new settings {new_settings}; baseline {BASELINE_COMMIT} {BASELINE_SETTINGS}")
    rows, pooled = [], {}
    header = f"{'source':10} {'n':>4} {'seed':>4} {'method':9} {'≤10ms':>6} {'≤20ms':>6} {'≤50ms':>6} {'median':>7} {'p90':>6} {'flagged':>7} {'>100ms':>6} {'unflagged':>9} {'train s':>8} {'align ms':>8}"
    print(header)
    for source in args.sources:
        for size in args.sizes:
            for seed in args.seeds:
                wavs, truth = make_corpus(source, size, seed, args.tuning_voices and source != "synthetic", args.out)
                timings = {}
                corpus_name = wavs[0].parents[1].name
                for method, package, settings in methods:
                    found = args.out / "runs" / corpus_name / method
                    shutil.rmtree(found, ignore_errors=True)
                    timing = run_method(package, settings, wavs, found, *phrase_and_lexicon(source))
                    if "error" in timing:
                        print(f"{source:10} {size:>4} {seed:>4} {method:9} failed: {timing['error']}")
                        continue
                    result, pairs = score(wavs, truth, found)
                    if not rows or all(r["method"] != method for r in rows):  # the first corpus of each method
                        timing["job_s"] = job_seconds(package, found / "model", wavs, found, phrase_and_lexicon(source)[0])
                    timings[method] = timing
                    if method == "new":
                        pooled.setdefault(source, []).extend(pairs)
                    rows.append({"source": source, "n": size, "seed": seed, "method": method, **result, **timing})
                    print(f"{source:10} {size:>4} {seed:>4} {method:9} {result['within_10']:6.3f} {result['within_20']:6.3f} "
                          f"{result['within_50']:6.3f} {result['median_ms']:6.1f}  {result['p90_ms']:6.1f} {result['flagged']:7d} "
                          f"{result['bad']:6d} {result['bad_unflagged']:9d} {timing['train_s']:8.1f} {timing['align_ms']:8.1f}", flush=True)
                if {"new", "baseline"} <= set(timings):
                    new, old = timings["new"], timings["baseline"]
                    print(f"{'':10} {'':>4} {'':>4} {'ratio':9} training new / baseline {new['train_s'] / old['train_s']:.2f}, "
                          f"alignment per recording new / baseline {new['align_ms'] / old['align_ms']:.2f}"
                          + (f", one alignment job in a fresh process {new['job_s']:.2f} s / {old['job_s']:.2f} s = "
                             f"{new['job_s'] / old['job_s']:.2f}" if "job_s" in new and "job_s" in old else ""))
    table = pd.DataFrame(rows)
    table.to_csv(args.out / f"summary-{voices}.tsv", sep="\t", index=False)
    if not table.empty:
        print("\nper source and method (mean over corpora; worst corpus in brackets):")
        for (source, method), group in table.groupby(["source", "method"], sort=False):
            print(f"  {source:10} {method:9} ≤20 ms {group.within_20.mean():.3f} (min {group.within_20.min():.3f}), "
                  f"≤50 ms {group.within_50.mean():.3f} (min {group.within_50.min():.3f}), "
                  f"recordings > 100 ms not flagged: {int(group.bad_unflagged.sum())}")
    for source, pairs in pooled.items():
        print(f"\n{source}: error per boundary (found - true, ms; new method, pooled over its corpora)")
        print(boundary_table(pairs).to_string(index=False))


if __name__ == "__main__":
    main()
