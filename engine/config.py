"""Configuration as data: YAML under ``configs/``, validated into typed objects at load.

Errors name the file, the key and what was expected, so a QA lead can fix a typo without reading code.
A run's configuration hash (``config_hash``) is part of a call's identity in a batch: the same
recording analysed under another configuration is analysed again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.alerts.config import AlertsConfig
from engine.diarize.config import DiarizeConfig
from engine.emotion.config import EmotionConfig
from engine.store.config import EventKindsConfig, SamplingConfig, StoreConfig
from engine.summary.config import SummaryConfig
from workers.config import BatchConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"

Device = Literal["auto", "cpu", "cuda"]
ModelT = TypeVar("ModelT", bound=BaseModel)


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
    silence_dbfs: float = Field(-55.0, description="a channel whose loudest 50 ms stays below this is silent")
    dead_channel_db: float = Field(
        -30.0, description="a channel this far (dB) below the loudest channel, or silent, is dead"
    )


class AsrConfig(Section):
    model: str = Field("tiny.en", description="model name from `callqa models list`, or a CTranslate2 directory")
    multilingual_model: str = Field("base", description="used when the language is not English")
    language: Literal["auto", "en", "zh"] = "auto"
    compute_type: str = Field("auto", description="auto = int8 on CPU, float16 on GPU")
    beam_size: int = Field(1, ge=1)
    batch_size: int = Field(8, ge=1, description="batched inference on a GPU")
    vad_filter: bool = True
    vad_min_silence_ms: int = Field(500, ge=0)
    no_speech_threshold: float = Field(0.6, ge=0, le=1)
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = Field(2.4, gt=0)
    condition_on_previous_text: bool = False
    temperatures: tuple[float, ...] = Field(
        (0.0,), min_length=1,
        description="decoding temperatures, tried in turn while a segment fails the thresholds above "
        "(faster-whisper's default: 0.0, 0.2 ... 1.0). Above 0 Whisper samples, so the same call could get "
        "other words, turns and scores on a rerun; greedy only is repeatable, and a segment that still "
        "fails is dropped as before",
    )
    hallucination_silence_threshold: float | None = Field(
        None, description="seconds; skip silent stretches longer than this when a hallucination is suspected"
    )
    min_word_probability: float = Field(0.0, ge=0, le=1)
    zh_initial_prompt: str = "以下是普通话的句子。"
    zh_script: Literal["simplified", "as_is"] = "simplified"
    language_detection_segments: int = Field(1, ge=1)


# Sections that say how a batch runs and where results go, not what an analysis contains: changing
# them must not make a batch analyse every recording again.
OPERATIONAL_SECTIONS = {"store", "alerts", "sampling", "summary", "event_kinds", "batch"}


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
        payload = json.dumps(self.model_dump(mode="json", exclude=OPERATIONAL_SECTIONS), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the file and key at fault."""


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_yaml_mapping(path: Path, what: str = "configuration file",
                      expected: str = "a mapping of sections at the top level") -> dict[str, Any]:
    """A YAML file that must hold a mapping; every problem is a ``ConfigError`` naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected {expected}, got {type(data).__name__}")
    return data


def describe_validation_error(path: Path | str, exc: ValidationError) -> str:
    lines = [f"{path}: invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        got_text = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"  {key}: {err['msg']}{got_text}")
    return "\n".join(lines)


def load_yaml_model(path: Path, model: type[ModelT], what: str, expected: str,
                    **fields: Any) -> ModelT:
    """A YAML file validated as ``model`` (``fields`` added, e.g. its source); errors name file and key."""
    data = read_yaml_mapping(path, what, expected)
    try:
        return model.model_validate({**data, **fields})
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, exc)) from None


def load_config(path: Path | str | None = None, overrides: dict[str, Any] | None = None) -> AppConfig:
    """Load the defaults, then ``path`` on top of them, then ``overrides`` (from the command line)."""
    data = read_yaml_mapping(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else {}
    source: Path | str = DEFAULT_CONFIG
    if path is not None:
        data = _merge(data, read_yaml_mapping(Path(path)))
        source = path
    if overrides:
        data = _merge(data, overrides)
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(source, exc)) from None
