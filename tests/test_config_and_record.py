"""Configuration validation, device choice, and the record's lossless JSON round-trip."""

from __future__ import annotations

import pytest

from engine.asr.transcriber import Transcriber, WhisperSettings
from engine.config import AppConfig, ConfigError, load_config
from engine.record import CallAnalysis, CallInfo, Segment, StageTiming, Transcript, Word
from engine.runtime import resolve_compute_type, resolve_device


def test_default_configuration_loads_and_is_offline_on_cpu():
    config = load_config()
    assert config.asr.model == "base" and config.asr.multilingual_model == "base"
    assert config.runtime.device == "auto"


def test_config_error_names_file_key_and_expectation(tmp_path):
    bad = tmp_path / "centre.yaml"
    bad.write_text("asr:\n  beam_size: 0\n  languag: en\n")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    message = str(caught.value)
    assert str(bad) in message
    assert "asr.beam_size: Input should be greater than or equal to 1 (got 0)" in message
    assert "asr.languag: Extra inputs are not permitted" in message


def test_config_that_is_not_a_mapping_is_refused(tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- asr\n- audio\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(bad)


def test_english_only_model_cannot_be_the_multilingual_one():
    with pytest.raises(ConfigError, match="multilingual_model must be a multilingual model"):
        load_config(overrides={"asr": {"multilingual_model": "tiny.en"}})


def test_config_hash_changes_with_any_setting():
    assert load_config().hash() == load_config().hash()
    assert load_config().hash() != load_config(overrides={"asr": {"beam_size": 3}}).hash()


@pytest.mark.parametrize(
    ("device", "has_cuda", "expected", "compute"),
    [("auto", False, "cpu", "int8"), ("auto", True, "cuda", "float16"), ("cpu", True, "cpu", "int8")],
)
def test_device_auto_takes_a_gpu_when_present_and_never_requires_one(device, has_cuda, expected, compute):
    resolved = resolve_device(device, has_cuda=has_cuda)
    assert resolved == expected
    assert resolve_compute_type("auto", resolved) == compute


def test_explicit_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no CUDA device is visible"):
        resolve_device("cuda", has_cuda=False)


def test_whisper_settings_on_a_gpu_box_use_float16():
    config = AppConfig()
    settings = WhisperSettings.resolve("tiny.en", config.asr, config.runtime, has_cuda=True)
    assert (settings.device, settings.compute_type) == ("cuda", "float16")
    assert settings.path.joinpath("model.bin").exists()


def test_accurate_profile_uses_base_for_english_and_fast_profile_tiny_en():
    config = AppConfig()
    transcriber = Transcriber(config.asr, config.runtime)
    assert transcriber.model_for("en") == "base"
    assert transcriber.model_for("zh") == "base"
    fast = load_config(overrides={"asr": {"profile": "fast"}})
    assert Transcriber(fast.asr, fast.runtime).model_for("en") == "tiny.en"


def _analysis() -> CallAnalysis:
    info = CallInfo(call_id="c1", source="/x/c1.wav", content_hash="ab", duration=12.5, sample_rate=8000,
                    channels=2, source_channels=2, metadata={"agent_id": "a7"}, warnings=["w"])
    transcript = Transcript(
        language="zh", language_probability=0.99, model="base",
        words=[Word(text="您好", start=0.1, end=0.5, probability=0.93, channel=1)],
        segments=[Segment(channel=1, start=0.1, end=0.5, text="您好", avg_logprob=-0.2, no_speech_prob=0.01,
                          compression_ratio=1.1)],
    )
    return CallAnalysis(call=info, transcript=transcript, timings=[StageTiming(stage="asr", seconds=1.5)])


def test_call_analysis_json_round_trip_is_lossless():
    analysis = _analysis()
    restored = CallAnalysis.from_json(analysis.to_json())
    assert restored == analysis
    assert restored.transcript.text == "您好"
    assert restored.timing("asr") == 1.5


def test_analysis_from_an_unknown_major_schema_version_is_refused():
    text = _analysis().to_json().replace('"schema_version":"1.0"', '"schema_version":"2.0"')
    with pytest.raises(ValueError, match=r"schema version 2\.0"):
        CallAnalysis.from_json(text)
