"""Route a rule's Python logging, warnings and uncaught errors into its log file; progress of
the long steps to the terminal too.

Snakemake shows a job's stderr on its own terminal (or, under SLURM, in the job's cluster log),
but every rule sends it to the rule's log file. The long rules (training, prediction, the maps
and their checks) name themselves (`log_to(path, job=...)`): what they log to `progress` then
reaches the terminal as well, a few lines per job (start, epochs, progress every
PROGRESS_EVERY_S seconds, the end), so a run of hours is not silent. The detail stays in the
log file, which the first line names for `tail -f`."""
import logging
import sys
import time

# Lines for the terminal (and the log file): the few that say how far a long job is.
progress = logging.getLogger("svd_explain.progress")
PROGRESS_EVERY_S = 60.0
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to(path: str, job: str | None = None):
    """Send logging (INFO and up), warnings and stderr of this process to `path`; with `job`
    (what the job is, e.g. "train_model ast_finetuned"), the `progress` logger's lines go to the
    terminal as well, prefixed with it, starting with one that names the log file."""
    terminal = sys.stderr
    stream = open(path, "a", buffering=1, encoding="utf-8")
    sys.stderr = stream
    logging.basicConfig(level=logging.INFO, format=FORMAT, handlers=[logging.StreamHandler(stream)], force=True)
    logging.captureWarnings(True)
    for handler in [h for h in progress.handlers if getattr(h, "terminal", False)]:
        progress.removeHandler(handler)
    if job is not None:
        handler = logging.StreamHandler(terminal)
        handler.terminal = True
        handler.setFormatter(logging.Formatter(f"%(asctime)s {job}: %(message)s", datefmt="%H:%M:%S"))
        progress.addHandler(handler)
        progress.info("started; follow it with: tail -f %s", path)
    return stream


class Progress:
    """How far a loop over `total` items is, logged to `progress` at most every `every_s`
    seconds, and at the end if it took that long: "rollout: 120 / 400 recordings (30 %), 45 s,
    about 105 s left". A loop shorter than `every_s` says nothing."""

    def __init__(self, what: str, total: int, unit: str = "recordings", every_s: float = PROGRESS_EVERY_S,
                 clock=time.monotonic):
        self.what, self.total, self.unit, self.every_s, self.clock = what, total, unit, every_s, clock
        self.start = self.last = clock()

    def update(self, done: int) -> None:
        now = self.clock()
        if now - self.last < self.every_s and (done < self.total or now - self.start < self.every_s):
            return
        self.last = now
        elapsed = now - self.start
        left = elapsed * (self.total - done) / done if done else float("nan")
        share = 100 * done / self.total if self.total else 100.0
        if done < self.total:
            progress.info("%s: %d / %d %s (%.0f %%), %.0f s, about %.0f s left",
                          self.what, done, self.total, self.unit, share, elapsed, left)
        else:
            progress.info("%s: %d %s done in %.0f s", self.what, done, self.unit, elapsed)


def job_label(rule: str, wildcards) -> str:
    """A job as the terminal's progress lines name it: "train_model model=ast_finetuned"."""
    return " ".join([rule, *(f"{name}={value}" for name, value in wildcards.items())])
