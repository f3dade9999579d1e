"""The command line a QA team uses: JSON per file, readable formats, errors on stderr."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from engine.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_transcribe_json_gives_one_object_per_file_with_channels(shared_data):
    files = [shared_data / "calls" / "stereo_2spk.wav", shared_data / "asr" / "en" / "jfk.flac"]
    result = runner.invoke(app, ["transcribe", *map(str, files), "--format", "json"])
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["file"] for o in objects] == [str(f) for f in files]
    for obj in objects:
        assert {"file", "language", "duration", "text", "words"} <= obj.keys()
        assert all({"start", "end", "text", "probability", "channel"} <= w.keys() for w in obj["words"])
    assert {w["channel"] for w in objects[0]["words"]} == {0, 1}
    assert objects[1]["language"] == "en" and "country" in objects[1]["text"]


@pytest.mark.slow
def test_a_bad_file_is_reported_on_stderr_and_the_others_still_run(shared_data, tmp_path):
    empty = tmp_path / "empty.wav"
    empty.touch()
    result = runner.invoke(app, ["transcribe", str(empty), str(shared_data / "asr" / "en" / "jfk.flac"),
                                 "--format", "text"])
    assert result.exit_code == 1
    assert "empty.wav: file is empty (0 bytes)" in result.stderr
    assert "Traceback" not in result.output
    assert "ask not what your country" in result.stdout


@pytest.mark.slow
def test_srt_and_vtt_have_timed_cues(shared_data):
    path = str(shared_data / "asr" / "en" / "jfk.flac")
    srt = runner.invoke(app, ["transcribe", path, "--format", "srt"]).stdout
    vtt = runner.invoke(app, ["transcribe", path, "--format", "vtt"]).stdout
    assert srt.startswith("1\n00:00:00,") and " --> 00:00:" in srt
    assert vtt.startswith("WEBVTT\n\n00:00:00.")


def test_bad_configuration_exits_with_the_key_named(tmp_path, shared_data):
    config = tmp_path / "c.yaml"
    config.write_text("asr:\n  beam_size: -1\n")
    result = runner.invoke(app, ["transcribe", str(shared_data / "asr" / "en" / "jfk.flac"), "-c", str(config)])
    assert result.exit_code == 2
    assert "asr.beam_size" in result.stderr


def test_models_list_shows_every_default_model():
    result = runner.invoke(app, ["models", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for name in ("tiny.en", "base", "pyannote-segmentation-3.0", "campplus-zh-en"):
        assert name in result.stdout
