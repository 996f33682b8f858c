"""The per-recording alignment status and the table of recordings that could not be aligned,
shared by both aligner backends.

results/alignment/status/<session>.json: {"session_id": int, "aligned": bool, "reason": str}
results/alignment/failed.tsv: session_id, reason (a header even when nothing failed)."""
import csv
import json
from pathlib import Path


def write_status(path, session_id, aligned, reason=""):
    """Write a recording's status; a failure needs a reason."""
    if not aligned and not reason:
        raise ValueError(f"session {session_id}: a recording that was not aligned needs a reason")
    Path(path).write_text(
        json.dumps({"session_id": int(session_id), "aligned": bool(aligned), "reason": reason}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )


def read_status(path):
    status = json.loads(Path(path).read_text(encoding="utf-8"))
    if set(status) != {"session_id", "aligned", "reason"}:
        raise ValueError(f"{path}: not an alignment status: {status}")
    return status


def write_failed_table(status_paths, out_path):
    """failed.tsv from the status files: every recording that was not aligned, with its reason,
    sorted by session id. Returns the number of failures."""
    failed = sorted(
        (s["session_id"], s["reason"]) for s in map(read_status, status_paths) if not s["aligned"]
    )
    with open(out_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["session_id", "reason"])
        writer.writerows(failed)
    return len(failed)
