"""Word and phone alignments as TextGrids in MFA's format: tiers `words` and `phones`,
silences as empty intervals, long (ooTextFile) format."""
from dataclasses import dataclass

from praatio import textgrid
from praatio.data_classes.interval_tier import IntervalTier


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    label: str


def write_alignment(path, words, phones, duration):
    """Write `words` and `phones` (lists of Segment, labelled speech only) to a TextGrid that
    spans [0, duration]; gaps become empty (silence) intervals, as in MFA's output."""
    # Times are rounded to 0.1 ms; the duration too, or praatio widens the grid by the rest.
    duration = round(duration, 4)
    grid = textgrid.Textgrid(minTimestamp=0.0, maxTimestamp=duration)
    for name, segments in (("words", words), ("phones", phones)):
        entries = [(round(s.start, 4), round(s.end, 4), s.label) for s in segments if s.label]
        grid.addTier(IntervalTier(name, entries, 0.0, duration))
    grid.save(str(path), format="long_textgrid", includeBlankSpaces=True)


def read_alignment(path):
    """The labelled `words` and `phones` segments of a TextGrid, and its duration.

    Returns (words, phones, duration); a TextGrid without those tiers raises ValueError."""
    grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    missing = {"words", "phones"} - set(grid.tierNames)
    if missing:
        raise ValueError(f"{path}: TextGrid lacks tier(s) {sorted(missing)}")
    tiers = [
        [Segment(float(e.start), float(e.end), e.label) for e in grid.getTier(name).entries]
        for name in ("words", "phones")
    ]
    return tiers[0], tiers[1], float(grid.maxTimestamp)
