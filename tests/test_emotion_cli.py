"""``callqa emotion`` on real clips: one JSON object per file; --same-speaker judges against a joint baseline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from engine.cli.emotion import register


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
