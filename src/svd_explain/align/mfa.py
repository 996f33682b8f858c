"""The Montreal Forced Aligner backend (align.backend: mfa): stage the corpus, run `mfa align`
(pretrained acoustic model and dictionary) or `mfa train` (an acoustic model trained on the
corpus itself), in one job for the whole corpus (MFA loads its models once per run).

Runs in envs/mfa.yaml, where only MFA and the standard library are installed: this module
imports nothing else. Collecting the per-recording TextGrids is `mfa_outputs.py` (another env).

The run folder (results/alignment/mfa/):
  corpus/<speaker_id>/<session>.wav   symbolic links to the 16 kHz recordings, one folder per
  corpus/<speaker_id>/<session>.lab   speaker (MFA adapts to speakers by folder), and the phrase
  output/                             MFA's TextGrids: output/<speaker_id>/<session>.TextGrid
                                      (none for a file MFA could not align)
  acoustic_model.zip                  (mode train) the acoustic model MFA trained
  command.txt                         the command line that ran
MFA's temporary folder (results/alignment/mfa/tmp) is removed after a successful run."""
import csv
import logging
import os
import shlex
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

MODES = ("pretrained", "train")
OUTPUT_FORMAT = "long_textgrid"


def mfa_command(command, mode, corpus_dir, output_dir, dictionary, acoustic_model, model_path, temporary_dir, num_jobs):
    """The MFA command line (a list) for a run.

    pretrained: mfa align CORPUS DICTIONARY ACOUSTIC_MODEL OUTPUT [options]
    train:      mfa train CORPUS DICTIONARY MODEL_ZIP --output_directory OUTPUT [options]
    `command` is the mfa executable, possibly with a prefix (e.g. "conda run -n mfa mfa")."""
    if mode not in MODES:
        raise ValueError(f"MFA mode must be one of {MODES}, got {mode!r}")
    if int(num_jobs) < 1:
        raise ValueError(f"num_jobs must be at least 1, got {num_jobs}")
    options = [
        "--output_format", OUTPUT_FORMAT,
        "--num_jobs", str(int(num_jobs)),
        "--temporary_directory", str(temporary_dir),
        "--clean",
        "--overwrite",
    ]
    executable = shlex.split(command)
    if mode == "pretrained":
        return executable + ["align", str(corpus_dir), str(dictionary), str(acoustic_model), str(output_dir)] + options
    return executable + ["train", str(corpus_dir), str(dictionary), str(model_path), "--output_directory", str(output_dir)] + options


def read_speakers(sessions_tsv):
    """{session id (str): speaker id (str)} from the catalog's sessions.tsv."""
    with open(sessions_tsv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if rows and not {"session_id", "speaker_id"} <= set(rows[0]):
        raise ValueError(f"{sessions_tsv}: needs session_id and speaker_id columns")
    return {str(int(r["session_id"])): str(int(r["speaker_id"])) for r in rows}


def stage_corpus(wav_paths, speakers, transcript, corpus_dir):
    """MFA's corpus layout: <speaker>/<session>.wav (a symbolic link) and <session>.lab (the
    transcript), for every recording; a recording of an unknown session raises."""
    corpus_dir = Path(corpus_dir)
    if corpus_dir.exists():
        shutil.rmtree(corpus_dir)
    for wav in map(Path, wav_paths):
        if wav.stem not in speakers:
            raise ValueError(f"{wav}: session {wav.stem} is not in the catalog")
        folder = corpus_dir / speakers[wav.stem]
        folder.mkdir(parents=True, exist_ok=True)
        os.symlink(wav.resolve(), folder / wav.name)
        (folder / f"{wav.stem}.lab").write_text(transcript.strip() + "\n", encoding="utf-8")


def run_mfa(wav_paths, sessions_tsv, phrase_path, run_dir, mode, command, dictionary, acoustic_model, num_jobs):
    """Stage the corpus and run MFA; the TextGrids land in <run_dir>/output. A failing MFA
    raises with the end of its output (the whole output is in the log)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    corpus_dir, output_dir, temporary_dir = run_dir / "corpus", run_dir / "output", run_dir / "tmp"
    stage_corpus(wav_paths, read_speakers(sessions_tsv), Path(phrase_path).read_text(encoding="utf-8"), corpus_dir)
    if output_dir.exists():
        shutil.rmtree(output_dir)
    cmd = mfa_command(
        command, mode, corpus_dir, output_dir, dictionary, acoustic_model,
        run_dir / "acoustic_model.zip", temporary_dir, num_jobs,
    )
    (run_dir / "command.txt").write_text(shlex.join(cmd) + "\n", encoding="utf-8")
    log.info("running %s", shlex.join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True)
    log.info("MFA output:\n%s%s", done.stdout, done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"MFA failed (exit {done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
    if not output_dir.is_dir():
        raise RuntimeError(f"MFA finished but wrote no output folder {output_dir}")
    shutil.rmtree(temporary_dir, ignore_errors=True)
