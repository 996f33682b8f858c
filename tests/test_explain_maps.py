"""Every explainer writes its maps in the common map format; phone occlusion its effect table."""
import numpy as np
import pandas as pd
import pytest
import torch

from svd_explain import explain_maps, rollout
from svd_explain.align.status import write_status
from svd_explain.textgrids import Segment, write_alignment

from test_rollout import MAX_LENGTH, model_dir, write_wavs  # noqa: F401 (model_dir is a fixture)

torch.set_num_threads(1)


@pytest.fixture
def study(tmp_path):
    write_wavs(tmp_path / "audio", {10: 1.0, 11: 1.3, 12: 1.6})
    pd.DataFrame({"session_id": [10, 11, 12], "speaker_id": [1, 2, 3], "split": ["test"] * 3,
                  "label": [0, 1, 1], "sex": "female", "category": "healthy"}).to_parquet(tmp_path / "split.parquet")
    (tmp_path / "alignment" / "status").mkdir(parents=True)
    words = [Segment(0.1, 0.5, "guten")]
    phones = [Segment(0.1, 0.2, "ɡ"), Segment(0.2, 0.35, "uː"), Segment(0.35, 0.5, "t")]
    for session in (10, 11, 12):
        aligned = session != 12
        write_alignment(tmp_path / "alignment" / f"{session}.TextGrid", words if aligned else [],
                        phones if aligned else [], 1.6)
        write_status(tmp_path / "alignment" / "status" / f"{session}.json", session, aligned, "" if aligned else "silent")
    return tmp_path


@pytest.mark.parametrize("method", explain_maps.METHODS)
def test_every_explainer_writes_a_cropped_map_per_recording(study, model_dir, method):  # noqa: F811
    out = study / "maps" / f"{method}.npz"
    effects = study / "effects.parquet"
    explain_maps.write_maps(method, model_dir, study / "split.parquet", study / "audio", out, batch_size=2,
                            device="cpu", alignment_dir=study / "alignment", status_dir=study / "alignment" / "status",
                            effects_path=effects)
    with np.load(out, allow_pickle=False) as maps:
        assert sorted(maps.files) == sorted(f"{s}.{k}" for s in (10, 11, 12) for k in ("relevance", "fbank", "padding_share"))
        for session in (10, 11, 12):
            relevance, fbank = maps[f"{session}.relevance"], maps[f"{session}.fbank"]
            assert relevance.shape == fbank.shape and relevance.dtype == np.float32
            if method == "phone_occlusion" and session == 12:
                assert np.isnan(relevance).all()  # no alignment: no occlusion
            else:
                assert np.isfinite(relevance).any()
    if method == "phone_occlusion":
        table = pd.read_parquet(effects)
        assert list(table.columns) == explain_maps.EFFECT_COLUMNS
        assert sorted(set(table["session_id"])) == [10, 11]
        assert table.groupby("session_id")["phone"].apply(list).to_dict() == {10: ["ɡ", "uː", "t"], 11: ["ɡ", "uː", "t"]}
        assert table.set_index("session_id").loc[11, "label"].tolist() == [1, 1, 1]


def test_rollout_maps_are_those_of_rollout(study, model_dir):  # noqa: F811
    explain_maps.write_maps("rollout", model_dir, study / "split.parquet", study / "audio", study / "a.npz", device="cpu")
    rollout.write_rollout(model_dir, study / "split.parquet", study / "audio", study / "b.npz", device="cpu")
    with np.load(study / "a.npz") as a, np.load(study / "b.npz") as b:
        for name in a.files:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-6)


def test_unknown_explainers_and_occlusion_without_alignments_are_refused(study, model_dir):  # noqa: F811
    with pytest.raises(ValueError, match="unknown explainer 'lime'"):
        explain_maps.write_maps("lime", model_dir, study / "split.parquet", study / "audio", study / "x.npz")
    with pytest.raises(ValueError, match="needs the alignments"):
        explain_maps.write_maps("phone_occlusion", model_dir, study / "split.parquet", study / "audio", study / "x.npz")


def test_the_occlusion_fill_is_the_noise_floor_or_the_padding_value(study, model_dir):  # noqa: F811
    """Both fills run through the workflow's path; they replace the phones differently, and an
    unknown one is refused before any model runs."""
    effects = {}
    for fill in ("noise_floor", "padding"):
        explain_maps.write_maps("phone_occlusion", model_dir, study / "split.parquet", study / "audio",
                                study / f"{fill}.npz", device="cpu", alignment_dir=study / "alignment",
                                status_dir=study / "alignment" / "status", effects_path=study / f"{fill}.parquet",
                                occlusion_fill=fill)
        effects[fill] = pd.read_parquet(study / f"{fill}.parquet")["effect"].to_numpy()
    assert effects["noise_floor"].shape == effects["padding"].shape
    assert not np.allclose(effects["noise_floor"], effects["padding"])
    with pytest.raises(ValueError, match="occlusion_fill must be one of noise_floor, padding, not 'zeros'"):
        explain_maps.write_maps("phone_occlusion", model_dir, study / "split.parquet", study / "audio", study / "x.npz",
                                alignment_dir=study / "alignment", status_dir=study / "alignment" / "status",
                                effects_path=study / "x.parquet", occlusion_fill="zeros")


def test_integrated_gradients_start_from_the_blurred_recording_or_the_padding_value(study, model_dir):  # noqa: F811
    """Both baselines run through the workflow's path and give different maps; an unknown one is
    refused before any model runs."""
    maps = {}
    for baseline in ("blur", "padding"):
        path = study / f"ig_{baseline}.npz"
        explain_maps.write_maps("integrated_gradients", model_dir, study / "split.parquet", study / "audio", path,
                                device="cpu", ig_baseline=baseline)
        with np.load(path) as found:
            maps[baseline] = [found[name] for name in sorted(found.files) if name.endswith(".relevance")]
    assert [m.shape for m in maps["blur"]] == [m.shape for m in maps["padding"]]
    assert not all(np.allclose(a, b) for a, b in zip(maps["blur"], maps["padding"]))
    with pytest.raises(ValueError, match="ig_baseline must be one of blur, padding, not 'zeros'"):
        explain_maps.write_maps("integrated_gradients", model_dir, study / "split.parquet", study / "audio",
                                study / "x.npz", ig_baseline="zeros")
