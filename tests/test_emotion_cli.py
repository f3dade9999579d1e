"""``callqa emotion`` on real clips: one JSON object per file; --same-speaker judges against a joint baseline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from typer.testing import CliRunner

from engine.cli.emotion import register
from tests.audio_factory import levelled, speech_cut, write_audio


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """callqa (test)"""

    register(app)
    return app


def _config(tmp_path: Path) -> Path:
    from engine.emotion.voice.head import DEFAULT_HEAD

    head = Path(os.environ.get("CALLQA_VOICE_HEAD") or DEFAULT_HEAD)
    if not head.exists():
        pytest.skip(f"no fitted voice head at {head} (fit one with scripts/fit_voice_emotion.py)")
    path = tmp_path / "emotion.yaml"
    path.write_text(yaml.safe_dump({"emotion": {"voice": {"head": str(head)}}}))
    return path


@pytest.mark.slow
def test_emotion_prints_one_json_object_per_clip_with_label_valence_arousal_scores(shared_data, tmp_path):
    casia = shared_data / "emotion" / "casia_dev"
    files = [casia / f"liuchanhg-{emotion}-{n}.flac" for emotion in ("neutral", "angry") for n in (211, 212, 213)]
    result = CliRunner().invoke(_app(), ["emotion", *map(str, files), "--same-speaker", "--format", "json",
                                         "--config", str(_config(tmp_path))])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [row["file"] for row in rows] == [str(f) for f in files]
    for row in rows:
        assert {"file", "label", "valence", "arousal", "scores"} <= set(row)
        assert 0.0 <= row["arousal"] <= 1.0 and -1.0 <= row["valence"] <= 1.0
        assert row["signals"]["voice"]["mode"] == "speaker"  # judged against the joint baseline
        assert "text" not in row["signals"]  # clips are judged by the voice unless --with-text
    neutral, angry = rows[:3], rows[3:]
    assert min(r["arousal"] for r in angry) > max(r["arousal"] for r in neutral)
    assert sum(r["label"] == "angry" for r in angry) >= 2


def test_emotion_reports_a_missing_file_and_exits_nonzero(tmp_path):
    result = CliRunner().invoke(_app(), ["emotion", str(tmp_path / "nope.wav"), "--config", str(_config(tmp_path))])
    assert result.exit_code == 1


@pytest.mark.slow
def test_short_dense_clips_are_judged_and_noise_beside_them_is_reported(shared_data, tmp_path):
    """A 1.8 s levelled Mandarin command and a 2 s acted clip are judged; a hum between them is refused."""
    import librosa

    audio, _ = librosa.load(shared_data / "asr" / "zh" / "aishell_0121.wav", sr=16000)
    command = write_audio(tmp_path / "command.wav", levelled(speech_cut(audio, 16000, 1.8), 16000), 16000)
    t = np.arange(8000 * 2) / 8000
    hum = write_audio(tmp_path / "hum.wav", (0.2 * np.sin(2 * np.pi * 50 * t)).astype(np.float32), 8000)
    clip = shared_data / "emotion" / "casia_dev" / "liuchanhg-happy-202.flac"  # refused as noise before issue 24
    files = [command, hum, clip]
    result = CliRunner().invoke(_app(), ["emotion", *map(str, files), "--language", "zh", "--format", "json",
                                         "--config", str(_config(tmp_path))])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row["file"] for row in rows] == [str(command), str(clip)]
    assert all(row["label"] and 0.0 <= row["arousal"] <= 1.0 for row in rows)
    assert f"{hum}: recording holds only steady noise, no speech" in result.stderr
    assert "1 of 3 file(s) failed" in result.stderr
