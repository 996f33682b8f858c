import json

import numpy as np
import pytest
import soundfile
import soxr
import torch
from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

from svd_explain import explain, features
from svd_explain.align.training import train_aligner
from svd_explain.audio import BadRecording
from svd_explain.nsp import write_nsp
from svd_explain.synth.recording import synthesize_recording
from svd_explain.textgrids import read_alignment

torch.set_num_threads(1)

MAX_LENGTH = 306


def save_tiny_model(path, seed):
    config = ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       max_length=MAX_LENGTH, num_labels=2, id2label={0: "healthy", 1: "pathological"},
                       label2id={"healthy": 0, "pathological": 1})
    torch.manual_seed(seed)
    ASTForAudioClassification(config).save_pretrained(path)
    ASTFeatureExtractor(max_length=MAX_LENGTH).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return [save_tiny_model(root / "ast_freeze", 0), save_tiny_model(root / "ast_finetuned", 1)]


def synthetic_session(session_id):
    session = {"session_id": session_id, "speaker_id": session_id, "sex": ("female", "male")[session_id % 2],
               "age": 45.0, "category": "healthy", "pathologies": []}
    samples, _, _ = synthesize_recording(session, seed=7, perturbation_scale=1.0)
    return samples  # 50 kHz, like the SVD


def test_explain_without_aligner(tmp_path, model_dirs):
    """A stereo FLAC at 22.05 kHz: resampled, predicted by both models, drawn without phones."""
    samples = soxr.resample(synthetic_session(1), 50000, 22050)
    recording = tmp_path / "visit.flac"
    soundfile.write(recording, np.stack([samples, 0.5 * samples], axis=1), 22050)
    summary = explain.explain(model_dirs, recording, tmp_path / "out", aligner_dir=tmp_path / "no_aligner", dpi=60)

    written = json.loads((tmp_path / "out" / "visit.json").read_text())
    assert written == json.loads(json.dumps(summary))
    assert [p["model"] for p in written["predictions"]] == ["ast_freeze", "ast_finetuned"]
    assert written["alignment"] == {"aligned": False, "reason": f"no trained aligner at {tmp_path / 'no_aligner'}"}
    assert (tmp_path / "out" / "visit.png").stat().st_size > 0
    assert not (tmp_path / "out" / "visit.TextGrid").exists()
    wav = tmp_path / "out" / "visit.input.wav"
    assert soundfile.info(wav).samplerate == 16000 and soundfile.info(wav).channels == 1
    # the score is the model's own P(pathological) on the workflow's inputs
    for prediction, model_dir in zip(written["predictions"], model_dirs):
        model = ASTForAudioClassification.from_pretrained(model_dir).eval()
        with torch.no_grad():
            logits = model(features.load_inputs([wav], ASTFeatureExtractor.from_pretrained(model_dir))).logits
        assert prediction["score"] == pytest.approx(torch.softmax(logits.double(), -1)[0, 1].item(), abs=1e-5)
        assert prediction["threshold"] == 0.5  # no threshold beside these folders: the argmax
        assert prediction["pred"] == int(logits[0].argmax())


def test_the_models_threshold_is_read_from_beside_its_folder(tmp_path):
    (tmp_path / "ast_freeze").mkdir()
    assert explain.model_threshold(tmp_path / "ast_freeze") == 0.5
    (tmp_path / "ast_freeze.threshold.json").write_text(json.dumps({"threshold": 0.31}))
    assert explain.model_threshold(tmp_path / "ast_freeze") == 0.31


def test_explain_command_aligns_with_the_trained_aligner(tmp_path, model_dirs, capsys, repo_root):
    """An NSP at 50 kHz (the SVD's format), aligned with a Kaldi aligner trained on a few
    synthetic recordings of the phrase."""
    phrase = f"{repo_root}/resources/phrase.txt"
    audio = tmp_path / "train"
    audio.mkdir()
    recordings = [audio / f"{session}.wav" for session in range(2, 8)]
    for path in recordings:
        soundfile.write(path, soxr.resample(synthetic_session(int(path.stem)), 50000, 16000), 16000, subtype="PCM_16")
    train_aligner(recordings, phrase, f"{repo_root}/resources/lexicon.txt", tmp_path / "aligner",
                  em_iterations=6, split_at=[3], max_gaussians=2, silence_probability=0.5, sample_rate=16000, seed=1)
    recording = tmp_path / "1-phrase.nsp"
    write_nsp(recording, np.round(synthetic_session(1) * 32767).astype(np.int16), 50000)

    explain.main([*map(str, model_dirs), str(recording), "--out", str(tmp_path / "out"), "--aligner",
                  str(tmp_path / "aligner"), "--phrase", phrase, "--formats", "png", "pdf", "--dpi", "60"])

    assert "ast_freeze:" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "1-phrase.json").read_text())
    assert summary["alignment"]["aligned"] is True
    words, phones, _ = read_alignment(tmp_path / "out" / "1-phrase.TextGrid")
    assert [w.label for w in words] == ["guten", "morgen", "wie", "geht", "es", "ihnen"]
    assert "ɔ" in [p.label for p in phones]
    assert (tmp_path / "out" / "1-phrase.pdf").read_bytes().startswith(b"%PDF")


def test_explain_refuses_a_bad_recording(tmp_path, model_dirs):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(BadRecording, match="empty"):
        explain.explain(model_dirs, empty, tmp_path / "out")
