"""Reading a YAML file into a typed object, with errors that name the file, the key and what was expected.

Every configuration file is read through here: the application configuration (``engine.config``), and
the files a stage reads on its own (QA standards, phrase lists, case rules, redaction rules, emotion
examples). It sits below all of them and imports nothing of the engine, so a stage's configuration
module can load its files without importing ``engine.config``, which imports every stage's section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "configs"

ModelT = TypeVar("ModelT", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the file and key at fault."""


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``, mapping by mapping (a later file changes only the keys it names)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
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
    """A pydantic error as lines a QA lead can act on: the file, then each key with what was wrong."""
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
