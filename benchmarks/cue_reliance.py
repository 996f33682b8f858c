"""How much a trained model's decision rests on the planted cue, measured by taking the cue away,
and whether the explainers' phone rankings follow what the model uses (the planted truth about
the *model*, not only about the data).

On a demo world kept by `benchmarks/demo_world.py --keep DIR`, every pathological test recording
that carries a cue is synthesized again, with the corpus's own seed, session and speaker:
  - as it is (checked: the same samples as the workflow's `results/audio/{session}.wav`);
  - without its cue (the healthy voice source on every phone);
  - once per cue phone, without the cue on that phone only (every other cue phone keeps it);
  - a sham: with the cue also on the voiceless /t/, where the voice source is silent (only the
    cue's 10 ms ramps reach its neighbours), so that what changes is the noise drawn after it.
The renderings share the phone timing, the speaker and the recording channel; the noise draws
of the voice source differ after the first phone whose cue changes, because the cue changes how
many glottal cycles are drawn. The sham measures what that alone moves: a phone's log-odds is
worth reading only where it stands out from the sham's. Each rendering goes through the
workflow's resampling and feature extraction.

For each model it prints:
  - the log-odds of "pathological" on the healthy test recordings, on the pathological ones and
    on the same pathological ones without their cue; `cue carries`: the share of the gap between
    pathological and healthy that goes when the cue goes (1: the model separates them by the cue
    alone; 0: not at all), and the test AUC with and without the cue;
  - per cue phone, the log-odds lost without the cue on that phone (the model's use of it), and
    the sham's spread (the noise in a single recording's value);
  - the localisation (lift, per-frame AUC; checks/localisation.py) of an oracle map that puts on
    each cue phone's frames the log-odds the phone carries in that recording and nothing anywhere
    else: what a map faithful to the model's use of the cue would score;
  - per explainer, the mean Spearman correlation, over the recordings, between the relevance a map
    puts on each cue phone (its positive part over the phone's frames) and the log-odds that phone
    carries: a map that follows what the model uses scores near 1.

`python benchmarks/cue_reliance.py [--world benchmarks/out/demo_world/default] [--models ast_finetuned ast_freeze]`"""
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import torch
import yaml
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kept_world import parse_world  # noqa: E402

from svd_explain import features, occlusion  # noqa: E402
from svd_explain.ast_model import load_model  # noqa: E402
from svd_explain.audio import resample_recording  # noqa: E402
from svd_explain.catalog import CATEGORIES_TABLE, read_metadata, sessions_from_metadata  # noqa: E402
from svd_explain.checks.localisation import cue_mask, frame_relevance, localisation  # noqa: E402
from svd_explain.synth.corpus import to_int16  # noqa: E402
from svd_explain.synth.recording import SAMPLE_RATE, synthesize_recording  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BATCH = 8
BOOTSTRAP = 2000
# Voiceless in the synthesizer (no voice source), so a cue on it is acoustically almost nothing.
SHAM_PHONE = "t"


def world_settings(world: Path) -> dict:
    """The corpus settings of a kept world: config.yaml with the world's own overrides."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    overrides = yaml.safe_load((world / "world.yaml").read_text(encoding="utf-8"))
    synthetic = {**config["corpus"]["synthetic"], **overrides.get("corpus", {}).get("synthetic", {})}
    return {"seed": overrides.get("seed", config["seed"]), "perturbation_scale": synthetic["perturbation_scale"],
            "cue_phones": tuple(sorted(synthetic["cue_phones"]))}


def render(session: dict, settings: dict, cue_phones: tuple, folder: Path, rate: int) -> np.ndarray:
    """The session's recording with the cue on `cue_phones` only, as the model's extractor reads
    it after the workflow's resampling (written at 50 kHz, 16 bit, then resample_recording)."""
    samples, _, _ = synthesize_recording(session, settings["seed"], settings["perturbation_scale"], None, cue_phones)
    raw, resampled = folder / "raw.wav", folder / "resampled.wav"
    soundfile.write(raw, to_int16(samples), SAMPLE_RATE, subtype="PCM_16")
    resample_recording(raw, resampled, rate)
    return features.read_wav(resampled, rate)


def renderings(results: Path, settings: dict, cues: pd.DataFrame, rate: int):
    """Per pathological test recording with a cue: {session, speaker, factual, no_cue, {phone:
    without the cue on it}}; and the healthy test recordings' paths."""
    split = pd.read_parquet(results / "split" / "split.parquet")
    test = split[split["split"] == "test"]
    planted = set(cues.loc[cues["planted"], "session_id"])
    corpus = results / "corpus" / "synthetic"
    sessions, _ = sessions_from_metadata(
        read_metadata(corpus / "summary.csv"), sessions="all", category_scheme="huckvale", mixed_labels="organic",
        categories_path=CATEGORIES_TABLE,
    )
    sessions = sessions.set_index("session_id", drop=False)
    recordings = []
    with tempfile.TemporaryDirectory() as tmp:
        for session_id in sorted(set(test["session_id"]) & planted):
            session = sessions.loc[session_id].to_dict()
            factual = render(session, settings, settings["cue_phones"], Path(tmp), rate)
            workflow = features.read_wav(results / "audio" / f"{session_id}.wav", rate)
            if not np.array_equal(factual, workflow):
                raise RuntimeError(f"session {session_id}: the rendering differs from the workflow's recording")
            recordings.append({
                "session_id": int(session_id), "speaker_id": int(session["speaker_id"]), "factual": factual,
                "no_cue": render(session, settings, (), Path(tmp), rate),
                "sham": render(session, settings, (*settings["cue_phones"], SHAM_PHONE), Path(tmp), rate),
                "without": {p: render(session, settings, tuple(q for q in settings["cue_phones"] if q != p), Path(tmp), rate)
                            for p in settings["cue_phones"]},
            })
    healthy = [results / "audio" / f"{s}.wav" for s in test.loc[test["label"] == 0, "session_id"]]
    return recordings, healthy


def log_odds_of(model, extractor, waveforms) -> np.ndarray:
    forward = occlusion.log_odds(model)
    out = []
    with torch.no_grad():
        for start in range(0, len(waveforms), BATCH):
            out.append(forward(features.waveform_inputs(waveforms[start:start + BATCH], extractor)).numpy())
    return np.concatenate(out)


def bootstrap_interval(values, seed=0) -> tuple:
    rng = np.random.default_rng(seed)
    values = np.asarray(values)
    means = values[rng.integers(0, len(values), (BOOTSTRAP, len(values)))].mean(axis=1)
    return tuple(np.percentile(means, [2.5, 97.5]))


def phone_relevance(relevance: np.ndarray, phone_spans: dict) -> dict:
    """The positive relevance a map (mel bins × frames) puts on each phone's frames."""
    per_frame = frame_relevance(relevance)
    return {p: float(per_frame[cue_mask(spans, len(per_frame))].sum()) for p, spans in phone_spans.items()}


def oracle_localisation(recording: dict, carried: pd.Series, spans: dict, extractor) -> dict:
    """Localisation of the map that puts on each cue phone's frames the log-odds it carries
    (its positive part, spread evenly over the phone's frames) and nothing on any other frame."""
    n_frames = min(features.num_frames(len(recording["factual"])), extractor.max_length)
    per_frame = np.zeros(n_frames)
    for phone, value in carried.items():
        frames = cue_mask(spans[(recording["session_id"], phone)], n_frames)
        per_frame[frames] = max(value, 0.0) / max(frames.sum(), 1)
    planted = np.zeros(n_frames, dtype=bool)
    for phone in carried.index:
        planted |= cue_mask(spans[(recording["session_id"], phone)], n_frames)
    return localisation(per_frame[None, :], planted)


def measure(results: Path, model_name: str, recordings, healthy, cues: pd.DataFrame, methods):
    model, extractor = load_model(results / "models" / model_name)
    model.eval()
    healthy_odds = log_odds_of(model, extractor, [features.read_wav(p, extractor.sampling_rate) for p in healthy])
    factual = log_odds_of(model, extractor, [r["factual"] for r in recordings])
    no_cue = log_odds_of(model, extractor, [r["no_cue"] for r in recordings])
    phones = list(recordings[0]["without"])
    without = {p: log_odds_of(model, extractor, [r["without"][p] for r in recordings]) for p in phones}
    labels = np.r_[np.zeros(len(healthy_odds)), np.ones(len(factual))]
    gap = factual.mean() - healthy_odds.mean()
    lost = factual - no_cue
    low, high = bootstrap_interval(lost)
    print(f"  {model_name}: log-odds of 'pathological': healthy {healthy_odds.mean():+.2f}, pathological "
          f"{factual.mean():+.2f}, the same without their cue {no_cue.mean():+.2f}; the cue carries "
          f"{lost.mean():+.2f} [{low:+.2f}, {high:+.2f}] of the gap {gap:+.2f} ({lost.mean() / gap:.0%}); "
          f"lowered in {np.mean(lost > 0):.0%} of {len(lost)} recordings")
    print(f"    test AUC against the {len(healthy_odds)} healthy: with the cue "
          f"{roc_auc_score(labels, np.r_[healthy_odds, factual]):.3f}, without it {roc_auc_score(labels, np.r_[healthy_odds, no_cue]):.3f}")
    carried = pd.DataFrame({p: factual - without[p] for p in phones})
    sham = factual - log_odds_of(model, extractor, [r["sham"] for r in recordings])
    means = carried.mean().sort_values(ascending=False)
    print("    log-odds lost without the cue on one phone (mean over recordings): "
          + ", ".join(f"/{p}/ {v:+.2f}" for p, v in means.items())
          + f"; per recording their standard deviation {carried.to_numpy().std():.2f}, the sham's {sham.std():.2f} "
          f"(mean {sham.mean():+.2f})")
    spans = {(s, p): list(zip(g["cue_start_s"], g["cue_end_s"])) for (s, p), g in cues.groupby(["session_id", "phone"])}
    oracle = [oracle_localisation(recording, carried.loc[row], spans, extractor) for row, recording in enumerate(recordings)]
    print(f"    oracle map (each cue phone's log-odds on its frames, nothing elsewhere): lift "
          f"{np.nanmean([o['lift'] for o in oracle]):.2f}, per-frame AUC {np.nanmean([o['auc'] for o in oracle]):.3f}")
    for method in methods:
        path = results / "maps" / method / f"{model_name}.npz"
        if not path.exists():
            continue
        correlations = []
        with np.load(path, allow_pickle=False) as maps:
            for row, recording in enumerate(recordings):
                session = recording["session_id"]
                relevance = phone_relevance(maps[f"{session}.relevance"], {p: spans[(session, p)] for p in phones})
                relevance = [relevance[p] for p in phones]
                # A map with the same relevance on every cue phone (none at all) ranks nothing.
                if np.ptp(relevance) > 0:
                    correlations.append(spearmanr(relevance, carried.loc[row, phones]).statistic)
        low, high = bootstrap_interval(correlations)
        print(f"    {method:24s} Spearman(relevance on a cue phone, log-odds it carries) "
              f"{np.mean(correlations):+.2f} [{low:+.2f}, {high:+.2f}] over {len(correlations)} recordings")


def main():
    found = parse_world(__doc__.splitlines()[0])
    if found is None:
        return
    args, results = found
    torch.set_num_threads(2)
    settings = world_settings(args.world)
    _, extractor = load_model(results / "models" / args.models[0])
    cues = pd.read_parquet(results / "corpus" / "cues.parquet")
    recordings, healthy = renderings(results, settings, cues, extractor.sampling_rate)
    methods = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["explain"]["methods"]
    print(f"world {args.world}: cue on /{' '.join(settings['cue_phones'])}/, {len(recordings)} pathological test "
          f"recordings with a cue (each rendered {2 + len(settings['cue_phones'])} times), {len(healthy)} healthy")
    for model_name in args.models:
        measure(results, model_name, recordings, healthy, cues, methods)


if __name__ == "__main__":
    main()
