"""The per-recording alignment status and the table of recordings whose alignment is missing or
doubtful, shared by both aligner backends.

results/alignment/status/<session>.json:
  {"session_id": int, "aligned": bool, "doubtful": bool, "reason": str}
  aligned=false: no alignment (the TextGrid has empty tiers), `reason` says why;
  doubtful=true: aligned, but the guard (guard.py) found it implausible, `reason` says what.
results/alignment/failed.tsv: session_id, reason (a header even when nothing failed): every
recording that is not aligned or whose alignment is doubtful."""
import csv
import json
from pathlib import Path

KEYS = {"session_id", "aligned", "doubtful", "reason"}


def write_status(path, session_id, aligned: bool, reason: str = "", doubtful: bool = False) -> None:
    """Write a recording's status; a failure or a doubtful alignment needs a reason."""
    if (not aligned or doubtful) and not reason:
        raise ValueError(f"session {session_id}: a recording that was not aligned, or doubtfully, needs a reason")
    if doubtful and not aligned:
        raise ValueError(f"session {session_id}: only an alignment can be doubtful")
    status = {"session_id": int(session_id), "aligned": bool(aligned), "doubtful": bool(doubtful), "reason": reason}
    Path(path).write_text(json.dumps(status, ensure_ascii=False) + "\n", encoding="utf-8")


def read_status(path) -> dict:
    status = json.loads(Path(path).read_text(encoding="utf-8"))
    if set(status) != KEYS:
        raise ValueError(f"{path}: not an alignment status (keys {sorted(status)}, expected {sorted(KEYS)}): rerun the alignment")
    return status


def phones_usable(status: dict) -> bool:
    """Whether the phone statistics may use a recording's alignment."""
    return status["aligned"] and not status["doubtful"]


def figure_note(status: dict) -> str:
    """What a figure says about its recording's alignment: "" when it is fine."""
    if not status["aligned"]:
        return f"not aligned: {status['reason']}"
    if status["doubtful"]:
        return f"alignment doubtful ({status['reason'].removeprefix('implausible alignment: ')})"
    return ""


def write_failed_table(status_paths, out_path) -> int:
    """failed.tsv from the status files: every recording that was not aligned or whose
    alignment is doubtful, with its reason, sorted by session id. Returns their number."""
    failed = sorted(
        (s["session_id"], s["reason"]) for s in map(read_status, status_paths) if not phones_usable(s)
    )
    with open(out_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["session_id", "reason"])
        writer.writerows(failed)
    return len(failed)
