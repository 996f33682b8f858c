"""The rules' logging: detail to the log file, a few progress lines of the long jobs to the terminal."""
import logging
import sys

import pytest

from svd_explain import logs


class Terminal:
    """The stderr a job inherits from Snakemake: pytest's, read through capsys."""

    def __init__(self, capsys):
        self.capsys = capsys

    def getvalue(self):
        return self.capsys.readouterr().err


@pytest.fixture
def terminal(capsys):
    """This process's stderr as the terminal a job inherits; logging restored afterwards."""
    root = logging.getLogger()
    handlers, level, stderr = list(root.handlers), root.level, sys.stderr
    yield Terminal(capsys)
    sys.stderr = stderr
    for handler in list(logs.progress.handlers):
        logs.progress.removeHandler(handler)
    root.handlers[:], root.level = handlers, level
    logging.captureWarnings(False)


def test_a_named_job_shows_its_progress_lines_on_the_terminal_and_everything_in_its_log(terminal, tmp_path):
    path = tmp_path / "job.log"
    stream = logs.log_to(str(path), job="train_model model=ast_finetuned")
    logging.getLogger("svd_explain.train").info("step 3/40: loss 0.6")
    logs.progress.info("epoch 1/4: dev UAR 0.7")
    stream.flush()

    shown = terminal.getvalue().splitlines()
    assert len(shown) == 2, shown
    assert "train_model model=ast_finetuned: started; follow it with: tail -f " + str(path) in shown[0]
    assert shown[1].endswith("train_model model=ast_finetuned: epoch 1/4: dev UAR 0.7")
    written = path.read_text()
    assert "step 3/40: loss 0.6" in written and "epoch 1/4: dev UAR 0.7" in written


def test_an_unnamed_job_keeps_the_terminal_quiet(terminal, tmp_path):
    logs.log_to(str(tmp_path / "job.log"))
    logs.progress.info("epoch 1/4")
    assert terminal.getvalue() == ""


def test_progress_lines_are_at_most_one_per_interval_and_one_at_the_end(terminal, tmp_path):
    logs.log_to(str(tmp_path / "job.log"), job="rollout")
    now = [0.0]
    progress = logs.Progress("rollout", 100, every_s=60, clock=lambda: now[0])
    for done in range(1, 101):
        now[0] += 2.0  # 2 s per recording: a line at 60 s, 120 s, 180 s, and the last one
        progress.update(done)
    lines = terminal.getvalue().splitlines()[1:]
    assert len(lines) == 4, lines
    assert lines[0].endswith("rollout: rollout: 30 / 100 recordings (30 %), 60 s, about 140 s left")
    assert lines[-1].endswith("rollout: 100 recordings done in 200 s")


def test_a_loop_shorter_than_the_interval_says_nothing(terminal, tmp_path):
    logs.log_to(str(tmp_path / "job.log"), job="predict")
    now = [0.0]
    progress = logs.Progress("pooled outputs", 30, every_s=60, clock=lambda: now[0])
    for done in range(1, 31):
        now[0] += 0.1
        progress.update(done)
    assert terminal.getvalue().splitlines()[1:] == []


def test_job_label_names_the_rule_and_its_wildcards():
    from snakemake.iocontainers import Wildcards

    assert logs.job_label("rollout", Wildcards(fromdict={"method": "rollout", "model": "m"})) == (
        "rollout method=rollout model=m"
    )
    assert logs.job_label("align_train", Wildcards()) == "align_train"
