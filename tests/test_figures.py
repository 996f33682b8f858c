import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image as mpimg

from svd_explain import figures
from svd_explain.align.status import write_status
from svd_explain.cases import select_figure_sessions
from svd_explain.frames import frame_extent
from svd_explain.textgrids import Segment, write_alignment

WORDS = [Segment(0.30, 0.62, "guten"), Segment(0.62, 1.02, "morgen")]
PHONES = [Segment(a, b, p) for a, b, p in [
    (0.30, 0.36, "ɡ"), (0.36, 0.46, "uː"), (0.46, 0.52, "t"), (0.52, 0.57, "ə"), (0.57, 0.62, "n"),
    (0.62, 0.68, "m"), (0.68, 0.80, "ɔ"), (0.80, 0.86, "ʁ"), (0.86, 0.92, "ɡ"), (0.92, 0.97, "ə"), (0.97, 1.02, "n"),
]]


def srgb_to_lightness(rgb):
    """CIE L* of sRGB colours (the inverse of the figure's mapping, for checking it)."""
    rgb = np.asarray(rgb, float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y = linear @ np.array([0.2126729, 0.7151522, 0.0721750])
    return np.where(y > (6 / 29) ** 3, 116 * np.cbrt(y) - 16, y * (29 / 3) ** 3)


def test_lch_to_srgb_matches_known_colours():
    assert figures.lch_to_srgb(50.0, 0.0, 0.0) == pytest.approx([0.4663] * 3, abs=1e-3)  # mid grey
    assert figures.lch_to_srgb(100.0, 0.0, 0.0) == pytest.approx([1.0] * 3, abs=1e-3)
    rgb = figures.lch_to_srgb(np.full(50, 70.0), np.full(50, 150.0), np.linspace(0, 360, 50))
    assert (rgb >= 0).all() and (rgb <= 1).all()  # out of gamut: chroma reduced, never clipped hue
    assert srgb_to_lightness(rgb) == pytest.approx(np.full(50, 70.0), abs=0.5)


def test_brightness_follows_power_and_hue_follows_relevance():
    power, relevance = np.meshgrid(np.linspace(0, 1, 11), np.linspace(0, 1, 11), indexing="ij")
    rgb = figures.colour_cells(power, relevance)
    lightness = srgb_to_lightness(rgb)
    # lightness comes from power alone ...
    assert lightness == pytest.approx(figures.LIGHTNESS[0] + (figures.LIGHTNESS[1] - figures.LIGHTNESS[0]) * power, abs=0.6)
    # ... and relevance changes the colour at a fixed lightness: blue-ish at 0, red-orange at 1
    low, high = rgb[8, 0], rgb[8, -1]
    assert low[2] > low[0] and high[0] > high[2]
    assert np.abs(rgb[8, 0] - rgb[8, -1]).sum() > 0.3
    # undefined relevance (no patch covers the cell) is grey
    grey = figures.colour_cells(np.array([0.7]), np.array([np.nan]))[0]
    assert grey == pytest.approx([grey[0]] * 3, abs=2e-3)


def test_power_and_relevance_scaling():
    fbank = np.log(np.array([1.0, 1e-3, 1e-9]))  # 0, -30 and -90 dB
    assert figures.power_fraction(fbank) == pytest.approx([1.0, 40 / 70, 0.0])
    assert figures.relevance_fraction(np.array([2.0, 3.0, np.nan, 4.0])) == pytest.approx([0, 0.5, np.nan, 1], nan_ok=True)
    assert figures.relevance_fraction(np.full(3, 2.0)) == pytest.approx([0.0] * 3)
    with pytest.raises(ValueError):
        figures.relevance_fraction(np.full(3, np.nan))


def test_a_signed_map_shows_its_positive_part_up_to_the_99th_percentile_of_its_positive_cells():
    signed = np.array([-5.0, 0.0, *np.linspace(0.01, 1.0, 100), 100.0])
    fraction = figures.relevance_fraction(signed)
    high = np.percentile(signed[signed > 0], 99)
    assert fraction[0] == 0 and fraction[1] == 0
    assert fraction[2:-1] == pytest.approx(np.clip(signed[2:-1] / high, 0, 1))
    assert fraction[-1] == 1  # the outlier saturates instead of setting the scale
    assert fraction[50] > 0.4
    assert np.isnan(figures.relevance_fraction(np.array([-1.0, np.nan, 2.0]))[1])
    assert (figures.relevance_fraction(np.array([-1.0, -2.0, 0.0])) == 0).all()


def test_mel_axis_puts_each_filter_peak_on_its_bin():
    import torchaudio.compliance.kaldi as kaldi

    _, centres = kaldi.get_mel_banks(128, 512, 16000.0, 20.0, 0.0, 100.0, -500.0, 1.0)
    assert figures.mel_bin_position(centres.numpy().ravel(), 128) == pytest.approx(np.arange(128), abs=1e-3)


def test_frames_are_drawn_at_their_window_centres():
    left, right = frame_extent(100)
    # frame t covers [10 t, 10 t + 25] ms: its pixel is centred on 10 t + 12.5 ms
    assert left + 0.005 == pytest.approx(0.0125)
    assert right - 0.005 == pytest.approx(0.0125 + 99 * 0.010)


def fake_map(n_frames=110, seed=0):
    rng = np.random.default_rng(seed)
    fbank = rng.normal(-8, 2, (128, n_frames)).astype(np.float32)
    relevance = rng.uniform(0.5, 1.5, (128, n_frames)).astype(np.float32)
    relevance[126:] = np.nan
    return fbank, relevance


@pytest.mark.parametrize("width_in", [7.0, 3.5])
def test_figure_draws_ipa_phones_without_missing_glyphs(tmp_path, width_in):
    fbank, relevance = fake_map()
    panels = [figures.Panel("ast_freeze: healthy (P(path.) = 0.20)", fbank, relevance),
              figures.Panel("ast_finetuned: pathological (P(path.) = 0.90)", fbank, relevance[:, ::-1].copy())]
    paths = [tmp_path / "f.png", tmp_path / "f.pdf"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures.draw_relevance_figure(panels, "Session 1 · female", paths, WORDS, PHONES, dpi=100, width_in=width_in)
    assert not [w for w in caught if "missing from" in str(w.message)]  # e.g. ɔ ʁ ɡ ə uː
    image = mpimg.imread(paths[0])
    assert image.shape[1] == round(width_in * 100)
    assert paths[1].read_bytes().startswith(b"%PDF")


def test_figure_without_alignment_says_why(tmp_path):
    fbank, relevance = fake_map()
    path = tmp_path / "f.png"
    figures.draw_relevance_figure([figures.Panel("m", fbank, relevance)], "t", [path],
                                  alignment_note="not aligned: no path", dpi=60)
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="both words and phones"):
        figures.draw_relevance_figure([figures.Panel("m", fbank, relevance)], "t", [path], words=WORDS)
    with pytest.raises(ValueError, match="≠"):
        figures.draw_relevance_figure([figures.Panel("m", fbank, relevance[:, :50])], "t", [path])


def write_inputs(tmp_path, session=5, aligned=True, doubtful=False):
    """The files one figure job reads."""
    fbank, relevance = fake_map()
    rollouts, predictions = [], []
    for model in ("ast_freeze", "ast_finetuned"):
        np.savez(tmp_path / f"{model}.npz", **{f"{session}.relevance": relevance, f"{session}.fbank": fbank,
                                               "6.relevance": relevance, "6.fbank": fbank})
        pd.DataFrame({"session_id": [session], "split": ["test"], "label": [1], "score": [0.8], "pred": [1]}).to_parquet(
            tmp_path / f"{model}.parquet")
        rollouts.append(tmp_path / f"{model}.npz")
        predictions.append(tmp_path / f"{model}.parquet")
    pd.DataFrame({"session_id": [session], "speaker_id": [9], "split": ["test"], "label": [1], "sex": ["male"],
                  "category": ["organic"]}).to_parquet(tmp_path / "split.parquet")
    pd.DataFrame({"session_id": [session], "case": ["O"]}).to_csv(tmp_path / "cases.tsv", sep="\t", index=False)
    write_alignment(tmp_path / "a.TextGrid", WORDS if aligned else [], PHONES if aligned else [], 1.2)
    reason = "implausible alignment: /ə/ takes 40 % of the phrase" if doubtful else "" if aligned else "no path"
    write_status(tmp_path / "status.json", session, aligned, reason, doubtful=doubtful)
    return dict(methods=["rollout"], models=["ast_freeze", "ast_finetuned"], map_paths=rollouts, prediction_paths=predictions,
                split_path=tmp_path / "split.parquet", cases_path=tmp_path / "cases.tsv",
                alignment_path=tmp_path / "a.TextGrid", status_path=tmp_path / "status.json")


@pytest.mark.parametrize("aligned, doubtful", [(True, False), (False, False), (True, True)])
def test_rollout_figure_job(tmp_path, aligned, doubtful):
    inputs = write_inputs(tmp_path, aligned=aligned, doubtful=doubtful)
    out = tmp_path / "figures" / "5.png"
    figures.recording_figure("5", out_paths=[out], dpi=60, **inputs)
    assert out.stat().st_size > 0
    with pytest.raises(KeyError, match="session 6"):
        figures.recording_figure("6", out_paths=[tmp_path / "6.png"], dpi=60, **inputs)


def test_figure_selection(tmp_path):
    cases = pd.DataFrame({"session_id": range(1, 13), "case": list("OOOOOOXXABBB")})
    cases.to_csv(tmp_path / "cases.tsv", sep="\t", index=False)
    select_figure_sessions(tmp_path / "cases.tsv", tmp_path / "all.tsv")
    assert pd.read_csv(tmp_path / "all.tsv", sep="\t")["session_id"].tolist() == list(range(1, 13))
    select_figure_sessions(tmp_path / "cases.tsv", tmp_path / "two.tsv", "per_case", 2, seed=3)
    two = pd.read_csv(tmp_path / "two.tsv", sep="\t")
    assert two["case"].value_counts().to_dict() == {"O": 2, "X": 2, "A": 1, "B": 2}
    select_figure_sessions(tmp_path / "cases.tsv", tmp_path / "again.tsv", "per_case", 2, seed=3)
    assert pd.read_csv(tmp_path / "again.tsv", sep="\t").equals(two)
    cases.assign(case="Z").to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match="unknown case"):
        select_figure_sessions(tmp_path / "bad.tsv", tmp_path / "x.tsv")


def test_figure_module_stays_lean():
    """One job per recording imports it: no torch, no scikit-learn."""
    code = "import sys, svd_explain.figures; print('torch' in sys.modules or 'sklearn' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(figures.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert result.stdout.strip() == "False"


def test_a_figure_of_every_explainer_puts_each_method_in_a_row(tmp_path):
    inputs = write_inputs(tmp_path)
    maps = inputs.pop("map_paths")
    inputs.pop("methods")
    out = tmp_path / "explanations" / "5.png"
    figures.recording_figure("5", methods=["rollout", "phone_occlusion", "integrated_gradients"], map_paths=maps * 3,
                             out_paths=[out], dpi=60, **inputs)
    image = mpimg.imread(out)
    assert image.shape[0] > 1.5 * image.shape[1] * 0.42  # taller than the one-row figure
    with pytest.raises(ValueError, match="2 map files for 3 methods"):
        figures.recording_figure("5", methods=["rollout", "a", "b"], map_paths=maps, out_paths=[out], **inputs)
