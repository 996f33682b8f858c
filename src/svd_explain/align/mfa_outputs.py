"""Collecting one recording's alignment from an MFA run (mfa.py): its TextGrid from
<run>/output/<speaker>/<session>.TextGrid (or <run>/output/<session>.TextGrid for a flat corpus)
becomes results/alignment/<session>.TextGrid in the project's format, plus its status.

A recording MFA skipped is a failure with the reason: no TextGrid written (MFA 3's `align` signals
a file it could not align this way; it writes no unalignable_files.csv, which came from MFA 2's
`validate`), or a TextGrid without phones. It gets a TextGrid with empty tiers spanning it."""
import logging
from pathlib import Path

import soundfile

from svd_explain.align.status import write_status
from svd_explain.textgrids import Segment, read_alignment, write_alignment

log = logging.getLogger(__name__)


def find_textgrid(output_dir, session):
    """MFA's TextGrid of a session (in a speaker folder or at the top), or None."""
    found = [p for p in (Path(output_dir, f"{session}.TextGrid"), *Path(output_dir).glob(f"*/{session}.TextGrid")) if p.is_file()]
    if len(found) > 1:
        raise ValueError(f"MFA wrote more than one TextGrid for session {session}: {found}")
    return found[0] if found else None


def _clipped(segments, duration):
    """MFA's TextGrid may end a few ms after the last sample as soundfile counts it."""
    return [Segment(s.start, min(s.end, duration), s.label) for s in segments]


def collect_alignment(run_dir, session, wav_path, textgrid_path, status_path):
    """Write the session's TextGrid and status from MFA's output; returns whether aligned."""
    output_dir = Path(run_dir, "output")
    duration = soundfile.info(str(wav_path)).duration
    source = find_textgrid(output_dir, session)
    reason = ""
    if source is None:
        reason = "MFA wrote no TextGrid for it"
    else:
        words, phones, _ = read_alignment(source)
        if not phones:
            reason = "MFA's TextGrid has no phones"
    if reason:
        log.warning("session %s not aligned: %s", session, reason)
        write_alignment(textgrid_path, [], [], duration)
        write_status(status_path, session, False, reason)
        return False
    write_alignment(textgrid_path, _clipped(words, duration), _clipped(phones, duration), duration)
    write_status(status_path, session, True)
    return True
