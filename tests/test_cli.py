"""The command line a QA team uses: JSON per file, readable formats, errors on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.cli.common import for_each_file
from engine.config import ConfigError
from engine.errors import TooShort
from tests.audio_factory import write_audio

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


def _bad_files(folder: Path) -> list[Path]:
    """An empty file, a hum and white noise: three recordings intake refuses, each with its own reason."""
    empty = folder / "empty.wav"
    empty.touch()
    t = np.arange(8000 * 2) / 8000
    hum = write_audio(folder / "hum.wav", (0.2 * np.sin(2 * np.pi * 50 * t)).astype(np.float32), 8000)
    white = write_audio(folder / "white.wav", np.random.default_rng(0).normal(0, 0.05, t.size).astype(np.float32),
                        8000)
    return [empty, hum, white]


@pytest.mark.slow
def test_a_run_over_good_and_bad_files_writes_every_good_result_and_exits_nonzero(shared_data, tmp_path):
    empty, hum, white = _bad_files(tmp_path)
    good = [shared_data / "asr" / "en" / "jfk.flac", shared_data / "calls" / "stereo_2spk.wav"]
    files = [empty, good[0], hum, good[1], white]
    result = runner.invoke(app, ["transcribe", *map(str, files), "--model", "tiny.en", "--language", "en",
                                 "--format", "json"])
    assert result.exit_code == 1
    assert [json.loads(line)["file"] for line in result.stdout.splitlines()] == [str(f) for f in good]
    assert f"{empty}: file is empty (0 bytes). The recording was not written" in result.stderr
    for noise in (hum, white):
        assert f"{noise}: recording holds only steady noise, no speech" in result.stderr
        assert "Check the recorder's input" in result.stderr
    assert "3 of 5 file(s) failed" in result.stderr and "Traceback" not in result.output


def test_one_file_failing_unexpectedly_does_not_stop_the_others(tmp_path):
    def work(path: Path) -> str:
        if path.name == "b.wav":
            raise RuntimeError("decoder crashed")
        if path.name == "c.wav":
            raise TooShort(path, "recording is 0.20 s", "Nothing to analyse")
        return path.name

    done, failures = for_each_file([tmp_path / n for n in ("a.wav", "b.wav", "c.wav", "d.wav")], work)
    assert done == ["a.wav", "d.wav"] and failures == 2

    def misconfigured(path: Path) -> str:
        raise ConfigError("asr.beam_size: expected a positive integer")

    with pytest.raises(ConfigError):  # wrong for every file: the run stops with it
        for_each_file([tmp_path / "a.wav", tmp_path / "b.wav"], misconfigured)
