"""Audio intake: every format a recorder writes decodes to 16 kHz per channel; bad input is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from engine.audio import load_recording
from engine.audio.decode import speech_rule
from engine.audio.levels import ChannelLevel, SpeechRule, channel_level, dead_channels, normalising_gain_db
from engine.audio.voice import VoiceEvidence
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
from tests.audio_factory import levelled, speech_cut, tone, write_audio


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
    with pytest.raises(AllSilence, match=r"silent\.wav: recording is silent \(loudest level -120 dBFS"):
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


# ---- silence judged against the recording's own floor -------------------------------------------------

RULE = SpeechRule(silence_dbfs=-70.0, over_floor_db=10.0)


def _speech_like(seconds: float, peak_dbfs: float, rate: int = 8000) -> np.ndarray:
    """``tone`` (syllable-rate envelope) scaled so that its peak sits at ``peak_dbfs``."""
    wave = tone(seconds, rate)
    return (wave * (10 ** (peak_dbfs / 20) / np.abs(wave).max())).astype(np.float32)


def test_floor_and_speech_level_of_small_arrays():
    rate = 1000  # 50 samples a frame
    quiet_talk = np.zeros(rate * 2)
    quiet_talk[:rate:5] = 0.01  # first second: a pulse train at -47 dBFS RMS; then digital silence
    level = channel_level(quiet_talk, rate, RULE.over_floor_db)
    assert level.floor_db == pytest.approx(-120.0) and level.speech_db == pytest.approx(-47.0, abs=0.05)
    assert level.active_seconds == pytest.approx(1.0)
    assert RULE.verdict(level) == "speech"  # quiet, but 73 dB over its own floor
    sparse = np.zeros(rate * 60)
    sparse[: rate // 2: 5] = 0.01  # half a second of it in a minute of silence: measured at the level spoken
    assert channel_level(sparse, rate, RULE.over_floor_db).speech_db == pytest.approx(-47.0, abs=0.05)
    hum = 0.3 * np.sin(2 * np.pi * 50 * np.arange(rate * 2) / rate)
    assert RULE.verdict(channel_level(hum, rate, RULE.over_floor_db)) == "steady"  # loud, never above its floor
    assert RULE.verdict(channel_level(np.zeros(rate), rate, RULE.over_floor_db)) == "silent"
    click = np.zeros(rate * 2)
    click[500:520] = 0.5
    assert RULE.verdict(channel_level(click, rate, RULE.over_floor_db)) == "steady"  # one pop is not a voice
    assert RULE.verdict(ChannelLevel(speech_db=-75.0, floor_db=-120.0, active_seconds=3.0)) == "silent"


def test_dead_channel_is_judged_against_the_loudest_speaking_channel_not_a_loud_hum():
    hum, quiet, echo = (ChannelLevel(-20.0, -20.5, 0.0), ChannelLevel(-50.0, -90.0, 9.0),
                        ChannelLevel(-85.0, -120.0, 9.0))
    assert dead_channels([hum, quiet], RULE, -30.0) == [0]  # the hum is dead, the quiet talker is not
    talker, bleed = ChannelLevel(-15.0, -60.0, 9.0), ChannelLevel(-50.0, -80.0, 9.0)
    assert dead_channels([talker, bleed], RULE, -30.0) == [1]  # 35 dB under the talker: echo or bleed
    assert dead_channels([talker, echo], RULE, -30.0) == [1]
    assert dead_channels([quiet], RULE, -30.0) == []


def test_one_gain_brings_the_loudest_speaking_channel_to_the_target():
    levels = [ChannelLevel(-50.0, -90.0, 9.0), ChannelLevel(-56.0, -90.0, 9.0), ChannelLevel(-10.0, -10.2, 0.0)]
    assert normalising_gain_db(levels, RULE, -20.0, 50.0) == pytest.approx(30.0)
    assert normalising_gain_db(levels[:1], RULE, -20.0, 12.0) == pytest.approx(12.0)
    assert normalising_gain_db([ChannelLevel(-8.0, -60.0, 9.0)], RULE, -20.0, 50.0) == pytest.approx(-12.0)


def test_quiet_recording_over_digital_silence_is_kept_and_brought_to_the_target_level(tmp_path):
    voice = np.concatenate([np.zeros(8000), _speech_like(3.0, -40.0), np.zeros(8000)])
    recording = load_recording(write_audio(tmp_path / "quiet.wav", voice, 8000))
    assert recording.gain_db > 20
    assert recording.channel_levels_db[0] == pytest.approx(-20.0, abs=0.1)
    assert any("recording is quiet" in w and "raised by" in w for w in recording.info.warnings)
    as_recorded = load_recording(tmp_path / "quiet.wav", AudioConfig(target_speech_dbfs=None))
    assert as_recorded.gain_db == 0 and as_recorded.channel_levels_db[0] < -45


def test_recording_at_minus_90_dbfs_is_refused_as_silent(tmp_path):
    voice = np.concatenate([np.zeros(8000), _speech_like(3.0, -90.0)])
    with pytest.raises(AllSilence, match=r"faint\.wav: recording is silent \(loudest level -\d+ dBFS"):
        load_recording(write_audio(tmp_path / "faint.wav", voice, 8000, "pcm_f32le"))


def _hum_and_tones(seconds: float, rate: int) -> dict[str, np.ndarray]:
    t = np.arange(int(seconds * rate)) / rate
    return {
        "hum.wav": 0.2 * np.sin(2 * np.pi * 50 * t),
        # mains hum with its harmonics: the one steady sound Silero calls speech, for 0.26 s at its start
        "hum_harmonics.wav": sum(0.1 / k * np.sin(2 * np.pi * 60 * k * t) for k in range(1, 8)),
        "tone_1k.wav": 0.3 * np.sin(2 * np.pi * 1000 * t),
        "tone_voiced.wav": sum(0.15 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 6)),  # voice-like timbre
        "tone_vibrato.wav": 0.3 * np.sin(2 * np.pi * np.cumsum(220 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))) / rate),
        "dial_tone.wav": 0.2 * (np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t)),
        "white.wav": np.random.default_rng(4).normal(0, 0.05, t.size),
    }


@pytest.mark.parametrize(
    ("name", "seconds"), [(name, 2.0) for name in _hum_and_tones(0.1, 8000)] + [("hum.wav", 4.0), ("white.wav", 4.0)],
)
def test_constant_noise_is_refused_with_its_own_reason(tmp_path, name, seconds):
    """A hum, a tone or white noise, as long as a short clip or longer: listened to, and still not a voice."""
    noise = _hum_and_tones(seconds, 8000)[name]
    with pytest.raises(AllSilence, match=r"recording holds only steady noise, no speech \(.*no voice heard either"):
        load_recording(write_audio(tmp_path / name, noise.astype(np.float32), 8000))


def test_stereo_quiet_party_beside_a_loud_hum_is_kept(tmp_path):
    hum = (0.2 * np.sin(2 * np.pi * 60 * np.arange(8000 * 3) / 8000)).astype(np.float32)
    recording = load_recording(write_audio(tmp_path / "hum_line.wav", np.stack([hum, _speech_like(3.0, -45.0)]), 8000))
    assert recording.channel_ids == [1]
    assert any("channel(s) 0 of 2 carry no speech (steady noise" in w for w in recording.info.warnings)


# ---- speech from start to end: no quiet stretch to measure a floor on (issue 24) -------------------------

def _mandarin_command(shared_data: Path) -> np.ndarray:
    """aishell_0121 cut to its speech, 1.8 s of it, levelled as a voice assistant records a command."""
    import librosa

    audio, _ = librosa.load(shared_data / "asr" / "zh" / "aishell_0121.wav", sr=16000)
    return levelled(speech_cut(audio, 16000, 1.8), 16000, rms_dbfs=-16.0)


def test_a_short_levelled_mandarin_command_is_speech_not_noise(shared_data, tmp_path):
    import librosa

    command = _mandarin_command(shared_data)
    levels_only = SpeechRule(silence_dbfs=-70.0, over_floor_db=10.0)
    level = channel_level(command, 16000, levels_only.over_floor_db)
    assert levels_only.verdict(level) == "steady"  # by its levels alone: its "floor" is its own speech
    recording = load_recording(write_audio(tmp_path / "command.wav", command, 16000))
    assert recording.duration == pytest.approx(1.8, abs=0.01) and recording.channel_ids == [0]
    assert recording.channel_levels_db[0] == pytest.approx(-20.0, abs=1.0)  # brought to the target like any call
    audio, _ = librosa.load(shared_data / "asr" / "zh" / "aishell_0121.wav", sr=16000)
    plain = speech_cut(audio, 16000, 1.8)  # the same 1.8 s as recorded, without the AGC
    assert load_recording(write_audio(tmp_path / "plain.wav", plain, 16000)).channel_ids == [0]


def test_every_casia_clip_is_speech(shared_data):
    clips = sorted((shared_data / "emotion" / "casia_dev").glob("*.flac"))
    assert len(clips) == 600
    refused = []
    for clip in clips:
        try:
            load_recording(clip)
        except AllSilence as exc:
            refused.append(str(exc))
    assert refused == []


def test_voice_needs_both_enough_speech_and_a_moving_pitch():
    rule = speech_rule(AudioConfig()).voice
    assert rule is not None
    assert rule.holds_voice(VoiceEvidence(speech_seconds=1.5, voiced_seconds=0.7, pitch_range_st=6.0))
    # a shouted clip Silero does not call speech, still voiced with a moving pitch
    assert rule.holds_voice(VoiceEvidence(speech_seconds=0.0, voiced_seconds=1.2, pitch_range_st=2.6))
    assert not rule.holds_voice(VoiceEvidence(speech_seconds=0.26, voiced_seconds=4.0, pitch_range_st=0.0))  # hum
    assert not rule.holds_voice(VoiceEvidence(speech_seconds=0.0, voiced_seconds=4.0, pitch_range_st=0.9))  # vibrato
    assert not rule.holds_voice(VoiceEvidence(speech_seconds=0.0, voiced_seconds=0.1, pitch_range_st=5.0))  # noise
    assert speech_rule(AudioConfig(voice_check=False)).voice is None


def test_voice_check_off_judges_by_levels_alone(shared_data, tmp_path):
    path = write_audio(tmp_path / "command.wav", _mandarin_command(shared_data), 16000)
    with pytest.raises(AllSilence, match=r"recording holds only steady noise, no speech \(a hum or hiss at -\d+ dBFS; "
                       r"its loudest moments are \d\.\d dB above it, speech rises at least 10 dB\)"):
        load_recording(path, AudioConfig(voice_check=False))


# ---- real speech: quiet, faint and 8-bit recordings ---------------------------------------------------

def _jfk(shared_data: Path) -> tuple[np.ndarray, str]:
    recording = load_recording(shared_data / "asr" / "en" / "jfk.flac", AudioConfig(target_speech_dbfs=None))
    return recording.samples[0].astype(np.float64), (shared_data / "asr" / "en" / "jfk.txt").read_text()


def _words(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalpha() or c.isspace()).split()


@pytest.mark.slow
@pytest.mark.parametrize("silence_after", [0, 100])
def test_jfk_at_minus_40_dbfs_peak_is_transcribed(engine, shared_data, tmp_path, silence_after):
    """Quiet speech, alone or as a short message in a long silent recording (a voicemail, a muted line)."""
    from engine.evaluation import word_error_rate

    audio, reference = _jfk(shared_data)
    quiet = (audio * (10 ** (-40 / 20) / np.abs(audio).max())).astype(np.float32)
    quiet = np.concatenate([quiet, np.zeros(16000 * silence_after, np.float32)])
    path = write_audio(tmp_path / "jfk_quiet.wav", quiet, 16000)
    text = engine.run(path, language="en").transcript.text
    assert word_error_rate([reference], [text]) <= 0.10, text


@pytest.mark.slow
def test_jfk_at_minus_90_dbfs_peak_is_refused(shared_data, tmp_path):
    audio, _ = _jfk(shared_data)
    faint = (audio * (10 ** (-90 / 20) / np.abs(audio).max())).astype(np.float32)
    with pytest.raises(AllSilence, match=r"recording is silent"):
        load_recording(write_audio(tmp_path / "jfk_faint.wav", faint, 16000))


def _u8_with_dither(audio_16k: np.ndarray, seed: int) -> np.ndarray:
    """jfk as an 8-bit recorder (or ``sox -b 8``) writes it: 8 kHz, TPDF dither of one step, unsigned."""
    narrow = resample_poly(audio_16k, 1, 2)
    rng = np.random.default_rng(seed)
    dither = rng.uniform(-0.5, 0.5, narrow.size) + rng.uniform(-0.5, 0.5, narrow.size)
    return np.clip(np.round(narrow * 128 + dither) + 128, 0, 255).astype(np.uint8)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_8bit_unsigned_jfk_keeps_every_word(engine, shared_data, tmp_path, seed):
    import soundfile as sf

    audio, reference = _jfk(shared_data)
    pcm = _u8_with_dither(audio, seed)
    path = tmp_path / f"jfk_u8_{seed}.wav"
    sf.write(path, (pcm.astype(np.float64) - 128) / 128, 8000, subtype="PCM_U8")
    assert sf.info(path).subtype == "PCM_U8"
    words = _words(engine.run(path, language="en").transcript.text)
    assert words[:4] == ["and", "so", "my", "fellow"] and words[5] == "ask", words  # "america(ns)": 8 kHz
    assert words.count("ask") == 2 and len(words) >= len(_words(reference)) - 1


@pytest.mark.slow
@pytest.mark.parametrize("codec", ["pcm_mulaw", "pcm_alaw"])
def test_8k_companded_jfk_keeps_every_word(engine, shared_data, tmp_path, codec):
    audio, _ = _jfk(shared_data)
    narrow = resample_poly(audio, 1, 2).astype(np.float32)
    words = _words(engine.run(write_audio(tmp_path / f"jfk_{codec}.wav", narrow, 8000, codec), language="en")
                   .transcript.text)
    assert words.count("ask") == 2, words
