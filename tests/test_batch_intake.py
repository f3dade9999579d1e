"""Batch intake: folders, globs and manifests name the recordings; sidecars and manifests add metadata."""

from __future__ import annotations

import json

import pytest

from workers.intake import ManifestError, collect


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    return path


def test_folder_source_finds_recordings_recursively_in_stable_order(tmp_path):
    _touch(tmp_path / "b" / "2.mp3")
    _touch(tmp_path / "a.wav")
    (tmp_path / "notes.txt").write_text("x")
    items = collect(tmp_path)
    assert [i.path.name for i in items] == ["a.wav", "2.mp3"]
    assert items[0].call_id == "a"


def test_sidecar_json_adds_agent_and_team(tmp_path):
    audio = _touch(tmp_path / "c1.wav")
    (tmp_path / "c1.wav.json").write_text(json.dumps({"agent_id": "A7", "team": "billing", "call_id": "X-1"}))
    (item,) = collect(audio)
    assert item.call_id == "X-1"
    assert item.metadata == {"agent_id": "A7", "team": "billing"}


def test_csv_manifest_paths_are_relative_to_the_manifest_and_override_sidecars(tmp_path):
    _touch(tmp_path / "rec" / "c1.wav")
    (tmp_path / "rec" / "c1.json").write_text(json.dumps({"team": "old", "language": "en"}))
    manifest = tmp_path / "day.csv"
    manifest.write_text("path,call_id,agent_id,team,channel_map\nrec/c1.wav,C-1,A1,retention,0=customer\n")
    (item,) = collect(manifest)
    assert item.path == tmp_path / "rec" / "c1.wav"
    assert item.call_id == "C-1"
    assert item.metadata == {"team": "retention", "language": "en", "agent_id": "A1", "channel_map": "0=customer"}
    assert item.language == "en"


def test_jsonl_manifest_with_a_bad_line_names_the_line(tmp_path):
    manifest = tmp_path / "day.jsonl"
    manifest.write_text('{"path": "a.wav"}\n{not json}\n')
    with pytest.raises(ManifestError, match=r"day\.jsonl: line 2 is not valid JSON"):
        collect(manifest)


def test_manifest_row_without_a_path_is_named(tmp_path):
    manifest = tmp_path / "day.csv"
    manifest.write_text("path,call_id\n,C-9\n")
    with pytest.raises(ManifestError, match=r"row 1 has no 'path'"):
        collect(manifest)


def test_glob_source(tmp_path):
    _touch(tmp_path / "x1.wav")
    _touch(tmp_path / "x2.wav")
    _touch(tmp_path / "y.wav")
    assert [i.call_id for i in collect(str(tmp_path / "x*.wav"))] == ["x1", "x2"]


def test_source_that_names_nothing_is_a_clear_error(tmp_path):
    with pytest.raises(ManifestError, match="no such folder, manifest, file or matching glob"):
        collect(tmp_path / "missing" / "*.wav")
