"""What phone occlusion puts in place of a removed phone (`explain.occlusion_fill`), measured
where the cue's place is known: on a demo world kept by `benchmarks/demo_world.py --keep DIR`
(its trained models, its test recordings and the synthetic corpus's true phones, so that
alignment errors play no part).

For each fill (noise_floor, the default, and padding, the baseline measured in the same run) and
each model, over the test recordings: the per-frame ROC AUC of the occlusion map against the
planted cue on the pathological recordings (0.5: chance), the mean effect of the cue phones and
of the others, on pathological and on healthy recordings (an effect is the log-odds of
"pathological" lost when the phone is removed; a fill the model reads as evidence moves every
phone), and the phones with the largest mean effect on pathological recordings.

`python benchmarks/occlusion_fill.py [--world benchmarks/out/demo_world/default] [--models ast_finetuned ast_freeze]`"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kept_world import parse_world  # noqa: E402

from svd_explain import features, occlusion  # noqa: E402
from svd_explain.ast_model import load_model  # noqa: E402
from svd_explain.checks.localisation import cue_mask, planted_spans  # noqa: E402
from svd_explain.textgrids import read_alignment  # noqa: E402

BATCH = 8


def test_recordings(results):
    """The test recordings, their true phones (no pauses) and their frames in the model's input."""
    table = features.split_recordings(results / "split" / "split.parquet", results / "audio")
    table = table[table["split"] == "test"].reset_index(drop=True)
    phones = [[p for p in read_alignment(results / "corpus" / "synthetic" / "truth" / f"{s}.TextGrid")[1] if p.label]
              for s in table["session_id"]]
    return table, phones


def measure(model_dir, table, phones, cues, spans, fill):
    """Per-frame AUC against the cue (`spans`: localisation.planted_spans), and the effect table
    (recording, label, phone, cue, effect)."""
    model, extractor = load_model(model_dir)
    model.eval()
    cue_phones = set(cues["phone"])
    rows, aucs = [], []
    for start in range(0, len(table), BATCH):
        batch = table.iloc[start:start + BATCH]
        inputs = features.load_inputs(list(batch["wav"]), extractor)
        n_frames = [features.input_frames(w, extractor) for w in batch["wav"]]
        batch_phones = phones[start:start + BATCH]
        masks = np.stack([occlusion.phone_feature_mask(p, inputs.shape[1], n) for p, n in zip(batch_phones, n_frames)])
        baseline = occlusion.fill_values(fill, inputs, n_frames, occlusion.padding_value(extractor))
        _, effects, maps = occlusion.phone_effects(model, inputs, masks, baseline)
        for row, (recording, recording_phones, frames) in enumerate(zip(batch.itertuples(), batch_phones, n_frames)):
            for k, phone in enumerate(recording_phones):
                rows.append((recording.session_id, recording.label, phone.label, phone.label in cue_phones, effects[row, k]))
            truth = cue_mask(spans.get(recording.session_id, []), frames)
            if recording.label == 1 and 0 < truth.sum() < len(truth):
                aucs.append(roc_auc_score(truth, maps[row][:, :frames].mean(axis=0)))
    return float(np.mean(aucs)), pd.DataFrame(rows, columns=["session_id", "label", "phone", "cue", "effect"])


def main():
    found = parse_world(__doc__.splitlines()[0])
    if found is None:
        return
    args, results = found
    torch.set_num_threads(2)
    table, phones = test_recordings(results)
    cues = pd.read_parquet(results / "corpus" / "cues.parquet")
    spans = planted_spans(results / "corpus" / "cues.parquet")
    print(f"world {args.world}: {len(table)} test recordings ({int(table['label'].sum())} pathological), "
          f"cue on /{' '.join(sorted(set(cues['phone'])))}/")
    for model_name in args.models:
        found = {}
        for fill in occlusion.FILLS:
            auc, effects = measure(results / "models" / model_name, table, phones, cues, spans, fill)
            found[fill] = auc
            pathological, healthy = effects[effects["label"] == 1], effects[effects["label"] == 0]
            top = pathological.groupby("phone")["effect"].mean().sort_values(ascending=False).head(4)
            print(f"  {model_name:14s} {fill:12s} per-frame AUC {auc:.3f}; mean effect, pathological: cue "
                  f"{pathological[pathological['cue']]['effect'].mean():+.3f}, other {pathological[~pathological['cue']]['effect'].mean():+.3f}; "
                  f"healthy: cue {healthy[healthy['cue']]['effect'].mean():+.3f}, other {healthy[~healthy['cue']]['effect'].mean():+.3f}; "
                  f"top phones {', '.join(f'/{p}/ {e:+.2f}' for p, e in top.items())}")
        print(f"  {model_name:14s} per-frame AUC noise_floor / padding: {found['noise_floor'] / found['padding']:.2f}")


if __name__ == "__main__":
    main()
