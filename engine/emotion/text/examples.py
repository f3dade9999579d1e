"""Labelled example sentences: the classifier's training data, kept as YAML under ``configs/emotion/``.

A file looks like::

    language: en            # optional; when given it must match the language it is configured for
    examples:
      angry:
        - you charged me twice and nobody will fix it
      neutral:
        - I'd like to update my address

A centre adds its own files after the shipped ones; the sentences of all files are pooled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.config import PROJECT_ROOT, ConfigError


@dataclass(frozen=True)
class ExampleSet:
    """Example sentences of one language, with their labels, and a hash of the files they came from."""

    language: str
    texts: list[str]
    labels: list[str]
    files: list[Path]
    content_hash: str


def resolve_example_path(path: str | Path) -> Path:
    """Absolute paths as given; relative ones from the project root (where ``configs/`` is)."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def _read_file(path: Path, language: str, labels: set[str]) -> list[tuple[str, str]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: example file not found") from None
    try:
        data = yaml.safe_load(raw.decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid UTF-8 YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("examples"), dict):
        raise ConfigError(f"{path}: expected a mapping with key 'examples' (label -> list of sentences)")
    declared = data.get("language")
    if declared is not None and declared != language:
        raise ConfigError(f"{path}: language: file says {declared!r} but it is configured for {language!r}")
    pairs: list[tuple[str, str]] = []
    for label, sentences in data["examples"].items():
        if label not in labels:
            raise ConfigError(f"{path}: examples.{label}: unknown label; expected one of {sorted(labels)}")
        if not isinstance(sentences, list) or not all(isinstance(s, str) and s.strip() for s in sentences):
            raise ConfigError(f"{path}: examples.{label}: expected a list of non-empty sentences")
        pairs.extend((s.strip(), label) for s in sentences)
    return pairs


def load_examples(paths: list[str | Path], language: str, labels: list[str],
                  every_label: bool = True) -> ExampleSet:
    """Read and check the example files of one language; every label needs at least two sentences
    (unless ``every_label`` is off: a centre's file that only adds to some labels, read on its own)."""
    files = [resolve_example_path(p) for p in paths]
    if not files:
        raise ConfigError(f"text_emotion.example_files.{language}: no example files configured")
    pairs: list[tuple[str, str]] = []
    digest = hashlib.sha256()
    for path in files:
        pairs.extend(_read_file(path, language, set(labels)))
        digest.update(path.read_bytes())
    counts = {label: sum(1 for _, lab in pairs if lab == label) for label in labels}
    thin = [label for label, n in counts.items() if n < 2]
    if thin and every_label:
        raise ConfigError(
            f"{', '.join(map(str, files))}: labels {thin} have fewer than two example sentences; "
            "every label the classifier predicts needs examples"
        )
    return ExampleSet(
        language=language,
        texts=[text for text, _ in pairs],
        labels=[label for _, label in pairs],
        files=files,
        content_hash=digest.hexdigest(),
    )
