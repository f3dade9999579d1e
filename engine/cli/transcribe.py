"""``callqa transcribe``: word-timed transcripts of one or more recordings."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from engine.asr.formats import to_srt, to_text, to_vtt, transcript_json
from engine.cli.common import ConfigOption, config_or_exit, failed_files_note, for_each_file, progress_bar
from engine.pipeline import Engine


class TranscriptFormat(StrEnum):
    json = "json"
    text = "text"
    srt = "srt"
    vtt = "vtt"


class Language(StrEnum):
    auto = "auto"
    en = "en"
    zh = "zh"


def register(app: typer.Typer) -> None:
    @app.command("transcribe")
    def transcribe(
        files: list[Path] = typer.Argument(..., help="recordings: wav, flac, mp3, ogg/opus, m4a"),
        model: str = typer.Option(None, "--model", "-m", help="model name (see `callqa models list`) or directory"),
        language: Language = typer.Option(None, "--language", "-l", help="auto, en or zh (default: config)"),
        output_format: TranscriptFormat = typer.Option(TranscriptFormat.json, "--format", "-f"),
        config: Path = ConfigOption,
    ) -> None:
        """Transcribe recordings; each channel of a stereo call on its own."""
        overrides: dict = {"asr": {}}
        if model:
            overrides["asr"]["model"] = model
            if not model.endswith(".en"):
                overrides["asr"]["multilingual_model"] = model
        if language:
            overrides["asr"]["language"] = language.value
        engine = Engine(config_or_exit(config, overrides))

        def one(path: Path) -> None:
            with progress_bar(True) as bar:
                task = bar.add_task(path.name, total=1.0) if bar else None

                def hook(done: float, total: float) -> None:
                    if bar is not None and task is not None:
                        bar.update(task, completed=done, total=max(total, 1e-6))

                analysis = engine.run(path, progress=hook)
            transcript = analysis.transcript
            assert transcript is not None
            if output_format is TranscriptFormat.json:
                typer.echo(json.dumps(transcript_json(analysis), ensure_ascii=False))
            elif output_format is TranscriptFormat.text:
                typer.echo(to_text(transcript))
            elif output_format is TranscriptFormat.srt:
                typer.echo(to_srt(transcript))
            else:
                typer.echo(to_vtt(transcript))

        _, failures = for_each_file(files, one)
        if failures:
            failed_files_note(failures, len(files))
            raise typer.Exit(1)
