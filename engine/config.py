"""Configuration as data: YAML under ``configs/``, validated into typed objects at load.

Errors name the file, the key and what was expected, so a QA lead can fix a typo without reading code.
A run's configuration hash (``config_hash``) is part of a call's identity in a batch: the same
recording analysed under another configuration is analysed again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.alerts.config import AlertsConfig
from engine.cases.config import CasesConfig
from engine.config_loading import (
    CONFIG_DIR,
    PROJECT_ROOT,
    ConfigError,
    describe_validation_error,
    load_yaml_model,
    merge,
    read_yaml_mapping,
)
from engine.diarize.config import DiarizeConfig
from engine.emotion.config import EmotionConfig
from engine.redact.config import RedactConfig
from engine.store.config import EventKindsConfig, SamplingConfig, StoreConfig
from engine.summary.config import SummaryConfig
from engine.web.config import WebConfig
from workers.config import BatchConfig

# The file loader lives in engine.config_loading, so a section's module can load its own files without
# importing this one (which imports every section). PROJECT_ROOT, ConfigError, load_yaml_model … stay
# importable from here for the callers that still read them here.
__all__ = ["CONFIG_DIR", "DEFAULT_CONFIG", "PROJECT_ROOT", "AppConfig", "AsrConfig", "AsrProfile", "AudioConfig",
           "ConfigError", "RuntimeConfig", "ScoreConfig", "describe_validation_error", "load_config",
           "load_yaml_model", "read_yaml_mapping"]

DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"

Device = Literal["auto", "cpu", "cuda"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuntimeConfig(Section):
    device: Device = "auto"
    threads: int = Field(0, ge=0, description="CPU threads per model; 0 lets the library choose")


class AudioConfig(Section):
    target_rate: Literal[16000] = 16000
    min_duration: float = Field(0.5, gt=0, description="seconds; shorter recordings are refused")
    max_duration: float = Field(4 * 3600, gt=0, description="seconds; longer recordings are refused")
    max_file_mb: float = Field(2048, gt=0)
    silence_dbfs: float = Field(
        -70.0, description="a channel whose speech level (its loudest 5 % of 50 ms frames) stays below this is "
        "silent whatever its floor: -70 dBFS is a few steps of a 16-bit file",
    )
    speech_over_floor_db: float = Field(
        10.0, gt=0, description="speech must stand this far (dB) above the channel's own noise floor (its "
        "quietest 10 % of frames); steady hum or hiss stays within a dB or two of it at any level",
    )
    dead_channel_db: float = Field(
        -30.0, description="a channel this far (dB) below the loudest speaking channel, or with no speech, is dead"
    )
    target_speech_dbfs: float | None = Field(
        -20.0, description="the speech level every recording is brought to (one gain for all its channels, "
        "recorded in the result) before ASR and emotion; null keeps the level as recorded",
    )
    max_gain_db: float = Field(50.0, ge=0, description="the most a quiet recording is amplified")
    voice_check: bool = Field(
        True, description="a channel whose levels look steady (no quiet stretch under its speech: a short clip "
        "that is speech throughout) is listened to by Silero VAD and pYIN before it is refused as noise",
    )
    voice_min_seconds: float = Field(
        0.5, gt=0, description="seconds of Silero speech, or of pYIN voicing, that make such a channel speech (a "
        "hum or tone fools Silero for at most 0.3 s, at its start)",
    )
    voice_pitch_range_st: float = Field(
        2.0, gt=0, description="semitones (5th to 95th percentile) pYIN's voiced pitch must move when Silero heard "
        "too little: a shouted clip moves 2 or more, a hum, a tone or a tone with vibrato under 1.5",
    )
    voice_vad_threshold: float = Field(0.5, gt=0, lt=1, description="Silero speech probability of a speech window")
    voice_scan_seconds: float = Field(
        30.0, gt=0, description="only this much of the start of a steady channel is listened to",
    )
    voice_listen_dbfs: float = Field(
        -20.0, le=0, description="RMS level the voice check hears a channel at (Silero is not level-invariant)",
    )


class AsrProfile(Section):
    """A named way of transcribing: model, beam and guards set together (a key left out keeps asr's value)."""

    model: str | None = None
    beam_size: int | None = Field(None, ge=1)
    tokens_per_second: float | None = Field(None, gt=0)
    no_speech_threshold: float | None = Field(None, ge=0, le=1)
    log_prob_threshold: float | None = None
    compression_ratio_threshold: float | None = Field(None, gt=0)


def _default_asr_profiles() -> dict[str, AsrProfile]:
    # Measured in docs/asr.md; configs/default.yaml says the same.
    guards = {"tokens_per_second": 10.0, "no_speech_threshold": 0.6, "log_prob_threshold": -1.0,
              "compression_ratio_threshold": 2.4}
    return {"fast": AsrProfile(model="tiny.en", beam_size=1, **guards),
            "accurate": AsrProfile(model="base", beam_size=5, **guards)}


class AsrConfig(Section):
    profile: str = Field("accurate", description="one of `profiles`; keys set in asr itself override it")
    profiles: dict[str, AsrProfile] = Field(default_factory=_default_asr_profiles)
    model: str = Field("base", description="model name from `callqa models list`, or a CTranslate2 directory")
    multilingual_model: str = Field("base", description="used when the language is not English")
    language: Literal["auto", "en", "zh"] = "auto"
    compute_type: str = Field("auto", description="auto = int8 on CPU, float16 on GPU")
    beam_size: int = Field(5, ge=1, description="beam search at temperature 0: a rerun gives the same words")
    batch_size: int = Field(8, ge=1, description="windows decoded at once on a GPU (one at a time on a CPU)")
    vad_filter: bool = True
    vad_threshold: float = Field(0.5, gt=0, lt=1)
    vad_min_silence_ms: int = Field(500, ge=0)
    vad_pad_ms: int = Field(400, ge=0, description="speech stretches are widened by this much before decoding")
    window_seconds: float = Field(30.0, gt=1, le=30, description="speech packed into windows of at most this")
    tokens_per_second: float = Field(
        10.0, gt=0, description="token budget of a window per second of its speech: a loop stops there"
    )
    min_tokens: int = Field(16, ge=1, le=224, description="token budget of the shortest windows")
    no_speech_threshold: float = Field(0.6, ge=0, le=1)
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = Field(2.4, gt=0)
    repeat_min: int = Field(3, ge=2, description="repeats of the same words that make a loop's tail")
    word_speech_tolerance: float = Field(0.2, ge=0, description="seconds a word may reach outside the speech")
    word_min_heard: float = Field(
        0.5, ge=0, le=1, description="in a window Whisper doubts, words with less of them under speech are dropped"
    )
    decode_timestamps: bool = Field(
        False, description="Whisper writes timestamps inside a window. Off: measured better on telephone_2spk (16 % "
        "against 21 % WER) and a mono Mandarin call (9.8 % against 12.2 % CER); either way, speech after a "
        "window's last word is decoded again",
    )
    tail_gap_seconds: float = Field(
        0.1, ge=0, description="speech heard this long after a window's last word is decoded again …"
    )
    tail_min_speech_seconds: float = Field(0.8, ge=0, description="… when at least this much of it is speech")
    max_tail_redecodes: int = Field(8, ge=0, description="at most this many times per window (0: never)")
    min_word_probability: float = Field(0.0, ge=0, le=1)
    zh_initial_prompt: str = "以下是普通话的句子。"
    zh_script: Literal["simplified", "as_is"] = "simplified"
    language_detection_segments: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _apply_profile(self) -> AsrConfig:
        if self.profile not in self.profiles:
            raise ValueError(f"asr.profile '{self.profile}' is not defined; profiles: {', '.join(self.profiles)}")
        chosen = self.profiles[self.profile]
        for key in chosen.model_fields_set:
            # A key the configuration sets itself wins over the profile.
            if getattr(chosen, key) is not None and key not in self.model_fields_set:
                setattr(self, key, getattr(chosen, key))
        return self


# Sections that say how a batch runs and where results go, not what an analysis contains: changing
# them must not make a batch analyse every recording again.
OPERATIONAL_SECTIONS = {"store", "alerts", "sampling", "summary", "event_kinds", "batch", "web", "cases"}


class ScoreConfig(Section):
    standard: str = Field("five_point", description="configs/standards/<name>.yaml, or a path to a standard")


class AppConfig(Section):
    """The whole engine configuration (``configs/default.yaml``)."""

    runtime: RuntimeConfig = RuntimeConfig()
    audio: AudioConfig = AudioConfig()
    asr: AsrConfig = AsrConfig()
    diarize: DiarizeConfig = DiarizeConfig()
    emotion: EmotionConfig = EmotionConfig()
    score: ScoreConfig = ScoreConfig()
    store: StoreConfig = StoreConfig()
    alerts: AlertsConfig = AlertsConfig()
    sampling: SamplingConfig = SamplingConfig()
    summary: SummaryConfig = SummaryConfig()
    event_kinds: EventKindsConfig = EventKindsConfig()
    batch: BatchConfig = BatchConfig()
    web: WebConfig = WebConfig()
    redact: RedactConfig = RedactConfig()
    cases: CasesConfig = CasesConfig()
    model_dirs: dict[str, str] = Field(
        default_factory=dict, description="extra named models: name -> local directory"
    )
    extra: dict[str, Any] = Field(default_factory=dict, description="sections of later stages")

    @model_validator(mode="after")
    def _multilingual_model_is_not_english_only(self) -> AppConfig:
        if self.asr.multilingual_model.endswith(".en"):
            raise ValueError("asr.multilingual_model must be a multilingual model, not an English-only '.en' one")
        return self

    def hash(self) -> str:
        """Stable hash of everything that changes an analysis (not where it is stored or who is alerted)."""
        # Redaction's settings matter only when it is on: turning it off gives the analysis it always gave.
        excluded = OPERATIONAL_SECTIONS | (set() if self.redact.enabled else {"redact"})
        payload = json.dumps(self.model_dump(mode="json", exclude=excluded), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_config(path: Path | str | None = None, overrides: dict[str, Any] | None = None) -> AppConfig:
    """Load the defaults, then ``path`` on top of them, then ``overrides`` (from the command line)."""
    data = read_yaml_mapping(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else {}
    source: Path | str = DEFAULT_CONFIG
    if path is not None:
        data = merge(data, read_yaml_mapping(Path(path)))
        source = path
    if overrides:
        data = merge(data, overrides)
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc)) from None
