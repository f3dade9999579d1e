"""``callqa diarize``: who spoke when (RTTM), or turns with roles and conversation dynamics (JSON)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from engine.cli.common import ConfigOption, config_or_exit, failed_files_note, for_each_file
from engine.config import AppConfig


class DiarizeFormat(StrEnum):
    json = "json"
    rttm = "rttm"


def diarize_settings(config: AppConfig, speakers: int | None) -> Any:
    """The ``diarize`` section of the configuration, with the command line's speaker count on top."""
    from engine.diarize import DiarizeConfig

    section = getattr(config, "diarize", None)
    settings = section if isinstance(section, DiarizeConfig) else DiarizeConfig()
    if speakers:
        settings = settings.model_copy(update={"num_speakers": speakers})
    return settings


def analysis_json(analysis: Any) -> dict[str, Any]:
    """What ``--format json`` prints for one call: turns, roles, dynamics and dynamics events."""
    return {
        "call_id": analysis.call.call_id,
        "source": analysis.call.source,
        "duration": analysis.call.duration,
        "turns": [{"speaker": t.speaker, "role": t.role, "start": round(t.start, 3), "end": round(t.end, 3),
                   "text": t.text} for t in analysis.turns],
        "roles": [r.model_dump() for r in analysis.roles],
        "dynamics": analysis.dynamics,
        "events": [e.model_dump() for e in analysis.events],
    }


def register(app: typer.Typer) -> None:
    @app.command("diarize")
    def diarize(
        files: list[Path] = typer.Argument(..., help="recordings: wav, flac, mp3, ogg/opus, m4a"),
        speakers: int = typer.Option(None, "--speakers", "-n", min=1,
                                     help="number of speakers in a mono call (default: config, 2)"),
        output_format: DiarizeFormat = typer.Option(DiarizeFormat.json, "--format", "-f",
                                                    help="rttm: who spoke when; json: turns, roles, dynamics"),
        config: Path = ConfigOption,
    ) -> None:
        """Who spoke when, who is the agent, and how the conversation went.

        Stereo calls are split by channel; mono calls are diarized with pyannote.audio. RTTM uses each
        file's stem as the recording id and needs no transcription; JSON transcribes the call first.
        """
        from engine.diarize import Diarizer, run_diarization, to_rttm
        from engine.pipeline import engine_for

        app_config = config_or_exit(config)
        settings = diarize_settings(app_config, speakers)
        device = settings.device if settings.device != "auto" else app_config.runtime.device
        diarizer = Diarizer(settings, device=device)
        engine = engine_for(app_config)

        def one(path: Path) -> None:
            recording, analysis = engine.intake(path, call_id=path.stem)
            if output_format is DiarizeFormat.rttm:
                result = diarizer.diarize(recording, uri=path.stem)
                typer.echo(to_rttm(result.annotation, path.stem), nl=False)
                return
            engine.transcribe(recording, analysis)
            analysis = run_diarization(analysis, recording, settings, diarizer)
            typer.echo(json.dumps(analysis_json(analysis), ensure_ascii=False))

        _, failures = for_each_file(files, one)
        if failures:
            failed_files_note(failures, len(files))
            raise typer.Exit(1)
