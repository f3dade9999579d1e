"""What a batch is made of: a folder, a glob, or a manifest (CSV or JSON lines), plus sidecar metadata.

A manifest row names a recording and what is known about the call: ``path`` (required; relative paths
are taken from the manifest's folder), ``call_id``, ``agent_id``, ``team``, ``call_start``,
``channel_map`` (e.g. ``0=agent,1=customer``), ``language``. A sidecar ``<recording>.json`` beside a
recording adds the same keys for folder and glob sources (the manifest wins where both say something).
"""

from __future__ import annotations

import csv
import glob
import json
from dataclasses import dataclass, field
from pathlib import Path

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma", ".au", ".gsm"}
METADATA_KEYS = ("agent_id", "team", "call_start", "channel_map", "language")


class ManifestError(ValueError):
    """A manifest that cannot be read, naming the file, the row and the problem."""


@dataclass(frozen=True)
class BatchItem:
    """One recording to analyse, with what the recorder or the manifest says about the call."""

    path: Path
    call_id: str
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def language(self) -> str | None:
        return self.metadata.get("language") or None


def _sidecar(path: Path) -> dict[str, str]:
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ManifestError(f"{candidate}: sidecar metadata is not valid JSON ({exc.msg})") from None
            if not isinstance(data, dict):
                raise ManifestError(f"{candidate}: sidecar metadata must be a JSON object")
            return {str(k): str(v) for k, v in data.items() if v is not None}
    return {}


def _item(path: Path, row: dict[str, str] | None = None) -> BatchItem:
    metadata = _sidecar(path)
    row = row or {}
    metadata.update({k: str(v) for k, v in row.items() if k not in ("path", "call_id") and v not in (None, "")})
    call_id = str(row.get("call_id") or metadata.pop("call_id", "") or path.stem)
    return BatchItem(path=path, call_id=call_id, metadata=metadata)


def _manifest_rows(manifest: Path) -> list[dict[str, str]]:
    text = manifest.read_text(encoding="utf-8")
    if manifest.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ManifestError(f"{manifest}: line {number} is not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ManifestError(f"{manifest}: line {number} must be a JSON object")
            rows.append(row)
        return rows
    return list(csv.DictReader(text.splitlines()))


def read_manifest(manifest: Path) -> list[BatchItem]:
    items = []
    for number, row in enumerate(_manifest_rows(manifest), start=1):
        if not row.get("path"):
            raise ManifestError(f"{manifest}: row {number} has no 'path'")
        path = Path(str(row["path"])).expanduser()
        if not path.is_absolute():
            path = manifest.parent / path
        items.append(_item(path, row))
    return items


def collect(source: str | Path) -> list[BatchItem]:
    """Every recording a source names, in a stable order (so progress and reruns are predictable)."""
    source_path = Path(source).expanduser()
    if source_path.is_dir():
        paths = sorted(p for p in source_path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        return [_item(p) for p in paths]
    if source_path.is_file() and source_path.suffix.lower() in (".csv", ".jsonl", ".ndjson"):
        return read_manifest(source_path)
    if source_path.is_file():
        return [_item(source_path)]
    matches = sorted(Path(p) for p in glob.glob(str(source), recursive=True))
    if not matches:
        raise ManifestError(f"{source}: no such folder, manifest, file or matching glob")
    return [_item(p) for p in matches if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES]
