"""The classical voice features: eGeMAPS equal to opensmile.Smile's, Praat measures on voices
with known properties, bad recordings as NaN with a reason, and the tables."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import opensmile
import pandas as pd
import pytest
import soundfile

from svd_explain import voice_features

RATE = 16000


def voice(f0=150.0, seconds=1.5, jitter=0.0, noise=0.0, seed=0):
    """A pulse-train voice at `f0` whose periods vary by `jitter` (relative SD), through a
    two-pole resonance, with white noise; 16-bit exact values."""
    rng = np.random.default_rng(seed)
    periods = np.cumsum(1 / f0 * (1 + jitter * rng.normal(size=int(seconds * f0 * 1.2))))
    pulses = np.zeros(int(seconds * RATE))
    positions = (periods[periods < seconds] * RATE).astype(int)
    pulses[positions] = 1.0
    signal = np.zeros_like(pulses)
    for n in range(2, pulses.size):  # a resonance at 600 Hz
        signal[n] = pulses[n] + 1.8 * np.cos(2 * np.pi * 600 / RATE) * 0.97 * signal[n - 1] - 0.97**2 * signal[n - 2]
    signal = signal / np.abs(signal).max() * 0.5 + noise * rng.normal(size=signal.size)
    return np.round(np.clip(signal, -1, 1) * 32767) / 32768


def test_egemaps_equal_opensmiles_own():
    signal = voice().astype(np.float32)
    reference = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                feature_level=opensmile.FeatureLevel.Functionals).process_signal(signal, RATE)
    ours = voice_features.egemaps_features(signal, RATE)
    assert list(ours) == list(reference.columns) and len(ours) == 88
    np.testing.assert_array_equal(np.array(list(ours.values())), reference.to_numpy()[0])


def test_praat_measures_follow_the_voice():
    # 160 Hz: a whole number of samples per period, so the clean voice has no jitter at all.
    clean, _ = voice_features.praat_measures(voice(160.0), RATE)
    assert clean["f0_mean_hz"] == pytest.approx(160.0, rel=0.02)
    assert clean["jitter_local"] < 0.005 and clean["hnr_db"] > 20
    rough, notes = voice_features.praat_measures(voice(160.0, jitter=0.03, noise=0.05), RATE)
    assert not notes
    assert rough["jitter_local"] > 3 * clean["jitter_local"]
    assert rough["hnr_db"] < clean["hnr_db"] - 5 and rough["cpps_db"] < clean["cpps_db"]
    assert voice_features.praat_measures(voice(220.0), RATE)[0]["f0_mean_hz"] == pytest.approx(220.0, rel=0.02)


def test_a_recording_without_voice_gets_nan_and_a_reason(tmp_path):
    soundfile.write(tmp_path / "quiet.wav", np.random.default_rng(0).normal(0, 1e-3, RATE), RATE, subtype="PCM_16")
    record = voice_features.extract_recording(tmp_path / "quiet.wav", tmp_path / "quiet.json", 7)
    assert np.isnan(record["praat"]["f0_mean_hz"]) and np.isnan(record["praat"]["jitter_local"])
    assert "no voiced frame" in record["note"]
    written = json.loads((tmp_path / "quiet.json").read_text())
    assert written["praat"]["f0_mean_hz"] is None and written["session_id"] == 7


def test_tables_have_every_recording_and_the_documented_columns(tmp_path):
    soundfile.write(tmp_path / "1.wav", voice(), RATE, subtype="PCM_16")
    soundfile.write(tmp_path / "2.wav", np.zeros(RATE // 2), RATE, subtype="PCM_16")
    for session in (2, 1):
        voice_features.extract_recording(tmp_path / f"{session}.wav", tmp_path / f"{session}.json", session)
    parquet = {s: tmp_path / f"{s}.parquet" for s in voice_features.FEATURE_SETS}
    tsv = {s: tmp_path / f"{s}.tsv" for s in voice_features.FEATURE_SETS}
    voice_features.write_feature_tables([tmp_path / "2.json", tmp_path / "1.json"], parquet, tsv)
    praat = pd.read_parquet(parquet["praat"])
    assert list(praat.columns) == ["session_id", *voice_features.PRAAT_MEASURES, "note"]
    assert praat["session_id"].tolist() == [1, 2] and praat.loc[1, "note"] != ""
    assert np.isnan(praat.loc[1, "f0_mean_hz"]) and np.isfinite(praat.loc[0, "f0_mean_hz"])
    egemaps = pd.read_parquet(parquet["egemaps"])
    assert egemaps.shape == (2, 90) and list(egemaps.columns[1:-1]) == list(voice_features.egemaps_feature_names())
    assert pd.read_csv(tsv["egemaps"], sep="\t").shape == (2, 90)


def test_the_per_recording_job_stays_lean():
    """One job per recording imports the module: neither pandas nor the opensmile package."""
    code = "import sys, svd_explain.voice_features; print('pandas' in sys.modules, 'opensmile' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(voice_features.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert result.stdout.split() == ["False", "False"]
