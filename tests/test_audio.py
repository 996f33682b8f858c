import numpy as np
import pytest
import soundfile

from svd_explain.audio import BadRecording, check_recording, read_recording, resample_recording


def tone(seconds=1.0, rate=50000, channels=1, amplitude=0.3):
    t = np.arange(int(seconds * rate)) / rate
    mono = amplitude * np.sin(2 * np.pi * 220 * t)
    return np.repeat(mono[:, None], channels, axis=1)


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_every_wav_sample_format_reads_to_the_same_signal(tmp_path, subtype):
    path = tmp_path / "x.wav"
    soundfile.write(path, tone(), 50000, subtype=subtype)
    samples, rate = read_recording(path)
    assert rate == 50000 and samples.shape == (50000, 1)
    assert np.abs(samples - tone()).max() < 0.01


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 50000, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_resample_gives_16k_mono_pcm16_of_the_same_length(tmp_path, rate, channels):
    source, target = tmp_path / "in.wav", tmp_path / "out.wav"
    soundfile.write(source, tone(1.5, rate, channels), rate)
    resample_recording(source, target, 16000)
    info = soundfile.info(target)
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    assert info.frames == pytest.approx(1.5 * 16000, abs=2)
    out, _ = soundfile.read(target)
    # A 220 Hz tone stays a 220 Hz tone of the same amplitude.
    spectrum = np.abs(np.fft.rfft(out))
    assert np.fft.rfftfreq(len(out), 1 / 16000)[spectrum.argmax()] == pytest.approx(220, abs=2)
    assert np.abs(out).max() == pytest.approx(0.3, abs=0.02)


def test_clipped_input_is_kept_and_stays_in_range(tmp_path):
    source, target = tmp_path / "in.wav", tmp_path / "out.wav"
    soundfile.write(source, np.clip(tone(amplitude=3.0), -1, 1), 50000, subtype="FLOAT")
    samples, rate = read_recording(source)
    assert check_recording(samples, rate, 0.5, 30).clipped_share > 0.3
    resample_recording(source, target, 16000)
    out, _ = soundfile.read(target)
    assert np.abs(out).max() <= 1.0


def test_bad_files_raise_with_reasons(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(BadRecording, match="empty file"):
        read_recording(empty)
    good = tmp_path / "good.wav"
    soundfile.write(good, tone(), 50000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:30])
    with pytest.raises(BadRecording, match="corrupt"):
        read_recording(truncated)
    garbage = tmp_path / "garbage.nsp"
    garbage.write_bytes(b"not an nsp file at all" * 10)
    with pytest.raises(BadRecording, match="NSP"):
        read_recording(garbage)


@pytest.mark.parametrize(
    "samples, reason",
    [
        (np.zeros((0, 1)), "zero-length"),
        (np.zeros((50000, 1)), "silent"),
        (np.full((50000, 1), np.nan), "NaN"),
        (np.full((50000, 1), np.inf), "NaN or infinite"),
        (tone(0.2), "too short"),
        (tone(31), "too long"),
    ],
)
def test_unusable_audio_is_named(samples, reason):
    with pytest.raises(BadRecording, match=reason):
        check_recording(samples, 50000, 0.5, 30)
