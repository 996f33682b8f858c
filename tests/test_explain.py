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
    assert not (tmp_path / "out").exists()


def bad_recordings(folder):
    folder.mkdir()
    (folder / "empty.wav").write_bytes(b"")
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    soundfile.write(folder / "silence.wav", np.zeros(48000), 16000)  # 3 s of digital silence
    soundfile.write(folder / "short.wav", 0.1 * np.sin(np.arange(1600) / 5), 16000)
    soundfile.write(folder / "nan.wav", np.full(16000, np.nan), 16000, subtype="FLOAT")
    return {
        "empty.wav": "empty file", "corrupt.wav": "unreadable or corrupt", "silence.wav": "silent",
        "short.wav": "too short", "nan.wav": "NaN or infinite", "missing.wav": "no such file or folder",
    }


def test_the_command_refuses_bad_input_in_one_line_with_status_2(tmp_path, model_dirs, capsys):
    for name, reason in bad_recordings(tmp_path / "bad").items():
        with pytest.raises(SystemExit) as stopped:
            explain.main([*map(str, model_dirs), str(tmp_path / "bad" / name), "--out", str(tmp_path / "out")])
        assert stopped.value.code == 2
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(tmp_path / "bad" / name) in lines[0], captured.err
        assert reason in lines[0] and "Traceback" not in captured.err
        assert not captured.out
    with pytest.raises(SystemExit):
        explain.main([str(tmp_path / "no_model"), str(tmp_path / "bad" / "silence.wav"), "--out", str(tmp_path / "out")])
    assert f"error: {tmp_path / 'no_model'}: no such file or folder" in capsys.readouterr().err


def test_the_aligner_is_the_runs_and_small_models_are_said_to_be_the_demos(tmp_path, model_dirs, capsys, caplog):
    run = tmp_path / "results"
    (run / "models").mkdir(parents=True)
    dirs = [save_tiny_model(run / "models" / "ast_finetuned", 1)]
    assert explain.run_aligner(dirs) == run / "alignment" / "model"
    recording = tmp_path / "visit.wav"
    soundfile.write(recording, soxr.resample(synthetic_session(1), 50000, 16000), 16000)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with caplog.at_level("WARNING"):
        # run from another folder: the aligner is still looked for beside the models
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.chdir(elsewhere)
        try:
            explain.main([str(dirs[0].relative_to(tmp_path).as_posix()).join(["../", ""]), str(recording),
                          "--out", str(tmp_path / "out"), "--dpi", "60"])
        finally:
            monkeypatch.undo()
    out = capsys.readouterr().out
    assert "note: ast_finetuned is a small AST (32 wide, 2 layers)" in out and "says nothing about a real voice" in out
    assert f"no trained aligner at {run / 'alignment' / 'model'}" in caplog.text and "--aligner" in caplog.text
    summary = json.loads((tmp_path / "out" / "visit.json").read_text())
    assert summary["notes"] and summary["alignment"]["aligned"] is False
