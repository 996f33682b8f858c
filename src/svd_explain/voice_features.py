"""The classical voice features of one recording, and the tables of all of them.

Two sets, computed together in one job per recording from its 16 kHz audio (the signal the AST
sees):
- `egemaps`: the 88 eGeMAPS v02 functionals of openSMILE (Eyben et al. 2016), as the
  `opensmile` package computes them, under openSMILE's own names;
- `praat`: the measures clinicians read, through Praat (`praat-parselmouth`):
  f0_mean_hz and f0_sd_hz (pitch by autocorrelation, Praat's "To Pitch", PITCH_FLOOR_HZ to PITCH_CEILING_HZ),
  jitter_local and shimmer_local (fractions, Praat's voice-report settings), hnr_db (mean
  harmonics-to-noise ratio, cross-correlation) and cpps_db (smoothed cepstral peak prominence,
  Praat's "Get CPPS" with its standard settings, cepstrogram every CEPSTROGRAM_STEP_S).

The eGeMAPS functionals come from openSMILE's own SMILEapi wrapper inside the `opensmile`
package (`opensmile/core/lib.py`), loaded without the package's Python layer: importing
`opensmile` costs about 0.4 s (pandas, audinterface, audobject) and building its `Smile` 0.2 s
more, against 0.06 s for the extraction itself, in a job that runs once per recording. The
config, options and input scaling are `opensmile.Smile`'s, and a test checks that both give the
same numbers.

A measure Praat cannot compute (no voiced frame, too few periods for jitter) is NaN, with the
reason in the recording's `note`; a recording openSMILE or Praat refuses altogether gets NaN
for that whole set and the error as its note. Nothing stops the run: the baselines impute
missing values from the train sessions and say how many there were."""
import functools
import importlib.util
import json
import logging
import sys
from pathlib import Path

import numpy as np
import parselmouth
import soundfile
from parselmouth.praat import call

log = logging.getLogger(__name__)

FEATURE_SETS = ("egemaps", "praat")
PRAAT_MEASURES = ("f0_mean_hz", "f0_sd_hz", "jitter_local", "shimmer_local", "hnr_db", "cpps_db")
# Praat's usual voice-analysis pitch range, for women and men alike.
PITCH_FLOOR_HZ = 75.0
PITCH_CEILING_HZ = 600.0
# Praat's default is 2 ms; 5 ms costs a third and moves CPPS by well under 1 % (benchmarked
# on synthetic voices), and the cepstrogram is most of a recording's feature cost.
CEPSTROGRAM_STEP_S = 0.005


# opensmile.Smile's settings for FeatureSet.eGeMAPSv02 at FeatureLevel.Functionals.
EGEMAPS_CONFIG = "egemaps/v02/eGeMAPSv02.conf"
SINK_LEVEL = "func"
SOURCE, SINK = "extsource", "extsink"


@functools.cache
def _smileapi():
    """The `opensmile` package's config folder and its SMILEapi module (core/lib.py), loaded
    from the package's files without importing the package (see the module docstring)."""
    spec = importlib.util.find_spec("opensmile")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the opensmile package is not installed (see requirements.txt)")
    core = Path(spec.submodule_search_locations[0]) / "core"
    name = "svd_explain._smileapi"
    module_spec = importlib.util.spec_from_file_location(name, core / "lib.py")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return core / "config", module


def _smile_instance(sample_rate=None):
    config, api = _smileapi()
    shared = config / "shared"
    options = {
        "sink": shared / "standard_external_data_output_single.conf.inc",
        "sinkLevel": SINK_LEVEL,
        "bufferModeRbConf": shared / "BufferModeRb.conf.inc",
        "frameModeFunctionalsConf": shared / "FrameModeFunctionals.conf.inc",
        "source": shared / "standard_external_wave_input.conf.inc",
    }
    if sample_rate is not None:
        options.update(sampleRate=sample_rate, nBits=16)
    smile = api.OpenSMILE()
    smile.initialize(config_file=str(config / EGEMAPS_CONFIG), options=options, loglevel=2)
    return smile


@functools.cache
def egemaps_feature_names() -> tuple[str, ...]:
    """The 88 eGeMAPS functionals, in openSMILE's order and under its names."""
    smile = _smile_instance()
    try:
        return tuple(smile.external_sink_get_element_name(SINK, index)
                     for index in range(smile.external_sink_get_num_elements(SINK)))
    finally:
        smile.free()


def egemaps_features(waveform: np.ndarray, sample_rate: int) -> dict:
    """The eGeMAPS functionals of one mono recording (float in [-1, 1]), {name: value}: what
    opensmile.Smile(eGeMAPSv02, Functionals).process_signal computes."""
    samples = (np.asarray(waveform, dtype=np.float32) * 32768).astype(np.int16)  # as opensmile.Smile does
    values = []
    smile = _smile_instance(sample_rate)
    try:
        smile.external_sink_set_callback_ex(SINK, lambda data, meta: values.append(np.array(data, dtype=np.float64)))
        smile.external_audio_source_write_data(SOURCE, bytes(samples))
        smile.external_audio_source_set_eoi(SOURCE)
        smile.run()
    finally:
        smile.free()
    if not values:
        raise ValueError("openSMILE returned no functionals (recording too short)")
    return dict(zip(egemaps_feature_names(), map(float, values[0].ravel()), strict=True))


def praat_measures(waveform: np.ndarray, sample_rate: int) -> tuple[dict, list[str]]:
    """PRAAT_MEASURES of one mono recording, and the reasons for any that are NaN."""
    sound = parselmouth.Sound(np.asarray(waveform, dtype=np.float64), sampling_frequency=sample_rate)
    values, notes = dict.fromkeys(PRAAT_MEASURES, float("nan")), []
    # Praat's voice report: pitch by autocorrelation ("To Pitch"), periods by cross-correlation.
    pitch = sound.to_pitch_ac(pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
    f0 = pitch.selected_array["frequency"]
    f0 = f0[f0 > 0]
    if f0.size == 0:
        notes.append("no voiced frame")
    else:
        values["f0_mean_hz"] = float(f0.mean())
        values["f0_sd_hz"] = float(f0.std(ddof=1)) if f0.size > 1 else float("nan")
        points = call([sound, pitch], "To PointProcess (cc)")
        # Praat's voice-report settings: periods 0.1–20 ms, period factor 1.3, amplitude factor 1.6.
        values["jitter_local"] = call(points, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)
        values["shimmer_local"] = call([sound, points], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6)
        harmonicity = sound.to_harmonicity_cc(0.01, PITCH_FLOOR_HZ, 0.1, 1.0)
        values["hnr_db"] = call(harmonicity, "Get mean", 0, 0)
    cepstrogram = call(sound, "To PowerCepstrogram", 60.0, CEPSTROGRAM_STEP_S, 5000.0, 50.0)
    values["cpps_db"] = call(cepstrogram, "Get CPPS", False, 0.02, 0.0005, 60.0, 330.0, 0.05, "Parabolic",
                             0.001, 0.0, "Straight", "Robust")
    values = {name: float(value) if value is not None and np.isfinite(value) else float("nan")
              for name, value in values.items()}
    notes += [f"{name} undefined" for name, value in values.items() if np.isnan(value) and f0.size]
    return values, notes


def extract_recording(wav_path, out_json, session_id) -> dict:
    """Both feature sets of one recording into a JSON file: {session_id, egemaps: {…},
    praat: {…}, note}."""
    waveform, sample_rate = soundfile.read(str(wav_path), dtype="float32", always_2d=True)
    waveform = waveform.mean(axis=1)
    record = {"session_id": int(session_id), "egemaps": {}, "praat": {}, "note": ""}
    notes = []
    try:
        record["egemaps"] = egemaps_features(waveform, sample_rate)
    except Exception as error:  # one bad recording must not stop the run: NaN and the reason
        notes.append(f"openSMILE failed: {error}")
    try:
        record["praat"], praat_notes = praat_measures(waveform, sample_rate)
        notes += praat_notes
    except parselmouth.PraatError as error:
        notes.append(f"Praat failed: {str(error).strip().splitlines()[0]}")
    record["note"] = "; ".join(notes)
    if notes:
        log.warning("%s: %s", wav_path, record["note"])
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    # NaN is written as null (JSON has no NaN).
    clean = {key: ({k: (None if np.isnan(v) else v) for k, v in value.items()} if isinstance(value, dict) else value)
             for key, value in record.items()}
    Path(out_json).write_text(json.dumps(clean) + "\n", encoding="utf-8")
    return record


def feature_tables(recording_jsons) -> dict:
    """{set: table} from the per-recording JSONs: session_id, the set's features (NaN where
    undefined) and note, sorted by session; every set has every recording."""
    import pandas as pd  # here, not at the top: the per-recording jobs do not need it (start-up cost)

    names = {"egemaps": list(egemaps_feature_names()), "praat": list(PRAAT_MEASURES)}
    rows = {name: [] for name in FEATURE_SETS}
    for path in recording_jsons:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        for feature_set in FEATURE_SETS:
            values = record[feature_set]
            rows[feature_set].append({"session_id": record["session_id"],
                                      **{name: values.get(name) for name in names[feature_set]},
                                      "note": record["note"]})
    tables = {}
    for feature_set in FEATURE_SETS:
        table = pd.DataFrame(rows[feature_set], columns=["session_id", *names[feature_set], "note"])
        table[names[feature_set]] = table[names[feature_set]].astype(np.float64)
        tables[feature_set] = table.sort_values("session_id", ignore_index=True)
    return tables


def write_feature_tables(recording_jsons, parquet_paths: dict, tsv_paths: dict) -> None:
    """results/features/{set}.parquet and .tsv from the per-recording JSONs; `parquet_paths`,
    `tsv_paths`: {set: path}."""
    for feature_set, table in feature_tables(recording_jsons).items():
        for path in (parquet_paths[feature_set], tsv_paths[feature_set]):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(parquet_paths[feature_set], index=False)
        table.to_csv(tsv_paths[feature_set], sep="\t", index=False, float_format="%.6g")
        missing = table.drop(columns=["session_id", "note"]).isna().any(axis=1)
        log.info("%s: %d recordings, %d with a missing value", feature_set, len(table), missing.sum())
