"""Audio intake: every format a recorder writes decodes to 16 kHz per channel; bad input is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.audio import load_recording
from engine.config import AudioConfig
from engine.errors import (
    AllSilence,
    CorruptAudio,
    EmptyFile,
    MissingFile,
    NotAudio,
    TooLarge,
    TooLong,
    TooShort,
    TruncatedAudio,
)
from tests.audio_factory import tone, write_audio


@pytest.mark.parametrize(
    ("name", "codec", "container", "rate"),
    [
        ("pcm16.wav", "pcm_s16le", None, 16000),
        ("mulaw.wav", "pcm_mulaw", None, 8000),
        ("alaw.wav", "pcm_alaw", None, 8000),
        ("u8.wav", "pcm_u8", None, 8000),
        ("call.flac", "flac", None, 44100),
        ("call.mp3", "libmp3lame", None, 22050),
        ("call.ogg", "libopus", "ogg", 48000),
        ("call.opus", "libopus", "opus", 48000),
        ("call.m4a", "aac", "mp4", 32000),
    ],
)
def test_every_recorder_format_decodes_to_16k_with_channels_apart(tmp_path, name, codec, container, rate):
    left, right = tone(2.0, rate, 200), tone(2.0, rate, 330) * 0.8
    right[: rate // 2] = 0  # the channels differ, so a down-mix would be caught
    path = write_audio(tmp_path / name, np.stack([left, right]), rate, codec, container)
    recording = load_recording(path)
    assert recording.sample_rate == 16000
    assert recording.samples.shape[0] == 2 and recording.channel_ids == [0, 1]
    assert recording.info.sample_rate == rate
    assert recording.duration == pytest.approx(2.0, abs=0.1)
    assert recording.samples.dtype == np.float32
    # channel 1 starts silent and channel 0 does not: they were kept apart
    head = int(0.3 * 16000)
    assert np.abs(recording.samples[1, 1000:head]).max() < 0.02 < np.abs(recording.samples[0, 1000:head]).max()


def test_four_channel_recording_keeps_each_channel(tmp_path):
    rows = np.stack([tone(1.0, 8000, f) for f in (150, 200, 250, 300)])
    recording = load_recording(write_audio(tmp_path / "quad.wav", rows, 8000))
    assert recording.channel_ids == [0, 1, 2, 3]
    assert recording.samples.shape == (4, 16000)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(MissingFile, match=r"nowhere\.wav: file not found"):
        load_recording(tmp_path / "nowhere.wav")


def test_empty_file_is_named(tmp_path):
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(EmptyFile, match=r"empty\.wav: file is empty"):
        load_recording(path)


def test_text_file_is_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("call notes: customer wants a refund\n" * 20)
    with pytest.raises(NotAudio, match=r"notes\.wav: not a recognised audio file"):
        load_recording(path)


def test_truncated_wav_is_reported_with_declared_and_decoded_length(tmp_path):
    path = write_audio(tmp_path / "cut.wav", tone(10.0, 8000), 8000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(TruncatedAudio, match=r"cut\.wav: file is truncated: header says 10\.0 s"):
        load_recording(path)


def test_garbage_after_a_valid_header_is_corrupt(tmp_path):
    path = write_audio(tmp_path / "bad.flac", tone(3.0, 16000), 16000, "flac")
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    data[200:] = rng.integers(0, 256, len(data) - 200, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises((CorruptAudio, TruncatedAudio), match=r"bad\.flac: "):
        load_recording(path)


def test_too_short_recording_is_refused(tmp_path):
    path = write_audio(tmp_path / "blip.wav", tone(0.2, 16000), 16000)
    with pytest.raises(TooShort, match=r"blip\.wav: recording is 0\.20 s, shorter than 0\.50 s"):
        load_recording(path)


def test_recording_over_the_length_limit_is_refused_before_decoding(tmp_path):
    path = write_audio(tmp_path / "long.wav", tone(12.0, 8000), 8000)
    with pytest.raises(TooLong, match=r"long\.wav: recording is 0\.2 min, over the 0 min limit"):
        load_recording(path, AudioConfig(max_duration=10))


def test_file_over_the_size_limit_is_refused(tmp_path):
    path = write_audio(tmp_path / "big.wav", tone(3.0, 16000), 16000)
    with pytest.raises(TooLarge, match=r"big\.wav: file is 0 MB, over the 0 MB limit"):
        load_recording(path, AudioConfig(max_file_mb=0.01))


def test_digital_silence_is_refused_as_silent(tmp_path):
    path = write_audio(tmp_path / "silent.wav", np.zeros(16000 * 3, np.float32), 16000)
    with pytest.raises(AllSilence, match=r"silent\.wav: recording is silent"):
        load_recording(path)


def test_line_hiss_alone_is_silent(tmp_path):
    hiss = np.random.default_rng(1).normal(0, 0.0003, 8000 * 4).astype(np.float32)
    with pytest.raises(AllSilence):
        load_recording(write_audio(tmp_path / "hiss.wav", hiss, 8000))


def test_stereo_with_one_dead_channel_warns_and_keeps_the_live_one(tmp_path):
    live = tone(3.0, 8000)
    dead = np.random.default_rng(2).normal(0, 0.0002, live.size).astype(np.float32)
    recording = load_recording(write_audio(tmp_path / "dead.wav", np.stack([dead, live]), 8000))
    assert recording.channel_ids == [1]
    assert recording.info.channels == 1 and recording.info.source_channels == 2
    assert any("channel(s) 0 of 2 carry no speech" in w for w in recording.info.warnings)
    np.testing.assert_allclose(recording.channel(1), recording.samples[0])


def test_dual_mono_file_is_analysed_once(tmp_path):
    voice = tone(2.0, 16000)
    recording = load_recording(write_audio(tmp_path / "dual.wav", np.stack([voice, voice]), 16000))
    assert recording.channel_ids == [0]
    assert any("repeat another channel" in w for w in recording.info.warnings)


def test_quiet_party_on_a_loud_line_is_not_dead(tmp_path):
    loud, quiet = tone(3.0, 8000, level=0.5), tone(3.0, 8000, 300, level=0.05)
    recording = load_recording(write_audio(tmp_path / "quiet.wav", np.stack([loud, quiet]), 8000))
    assert recording.channel_ids == [0, 1]


def test_content_hash_identifies_the_bytes(tmp_path):
    a = write_audio(tmp_path / "a.wav", tone(1.0, 8000), 8000)
    b = tmp_path / "b.wav"
    b.write_bytes(a.read_bytes())
    assert load_recording(a).info.content_hash == load_recording(b).info.content_hash
    assert load_recording(a).info.call_id == "a"


def test_shared_stereo_call_decodes_as_two_parties(shared_data: Path):
    recording = load_recording(shared_data / "calls" / "stereo_2spk.wav")
    assert recording.channel_ids == [0, 1]
    assert recording.duration == pytest.approx(5.0, abs=0.01)
