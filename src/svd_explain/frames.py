"""Where the frames of the AST's filter bank lie in time (Kaldi defaults): frame t covers
[t·10 ms, t·10 ms + 25 ms]. Shared by the relevance statistics and the figures."""
import numpy as np

FRAME_SHIFT_S = 0.010
WINDOW_S = 0.025


def frame_centres(n_frames: int) -> np.ndarray:
    """The time (s) of each frame's window centre."""
    return WINDOW_S / 2 + FRAME_SHIFT_S * np.arange(n_frames)


def frame_extent(n_frames: int) -> tuple[float, float]:
    """(left, right) in seconds of a frames axis drawn at the frames' window centres."""
    first_centre = WINDOW_S / 2
    return first_centre - FRAME_SHIFT_S / 2, first_centre + (n_frames - 0.5) * FRAME_SHIFT_S
