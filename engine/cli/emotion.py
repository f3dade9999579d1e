"""``callqa emotion``: the emotion of clips (each one utterance) or of whole calls (per turn, trajectories).

A clip is judged by its voice alone unless ``--with-text`` asks for its words too (off by default: acted
corpora say the same neutral sentence in every emotion, so the words would only pull toward neutral). A
call (``--call``, or any recording longer than ``--call-after`` seconds) goes through the whole engine
(transcription, diarization, the emotion stage) and prints each turn's emotion and the trajectories.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from engine.cli.common import ConfigOption, config_or_exit, failed_files_note, for_each_file
from engine.record import CallAnalysis, Emotion


class EmotionFormat(StrEnum):
    json = "json"
    text = "text"


def _emotion_fields(emotion: Emotion) -> dict[str, Any]:
    return {"label": emotion.label, "valence": emotion.valence, "arousal": emotion.arousal,
            "confidence": emotion.confidence, "scores": emotion.scores, "signals": emotion.signals}


def _call_fields(analysis: CallAnalysis) -> dict[str, Any]:
    return {
        "language": analysis.transcript.language if analysis.transcript else None,
        "turns": [{"speaker": t.speaker, "role": t.role, "start": t.start, "end": t.end, "text": t.text,
                   "emotion": _emotion_fields(t.emotion) if t.emotion else None} for t in analysis.turns],
        "trajectories": {role: [p.model_dump() for p in points] for role, points in analysis.trajectories.items()},
        "events": [e.model_dump() for e in analysis.events
                   if e.kind in ("escalation", "de_escalation", "agent_deterioration")],
    }


def _print_text(result: dict[str, Any]) -> None:
    typer.echo(f"{result['file']}: {result['label']} (valence {result['valence']:+.2f}, arousal "
               f"{result['arousal']:.2f}, confidence {result['confidence']:.2f})")
    for turn in result.get("turns", []):
        e = turn["emotion"]
        mood = f"{e['label']:<10} v {e['valence']:+.2f} a {e['arousal']:.2f}" if e else "-"
        typer.echo(f"  {turn['start']:7.1f}-{turn['end']:7.1f} {turn['role']:<8} {mood}  {turn['text'][:70]}")
    for event in result.get("events", []):
        typer.echo(f"  ! {event['kind']} ({event['severity']}) {event['start']:.1f}-{event['end']:.1f} s: "
                   f"{event['detail']}")


def register(app: typer.Typer) -> None:
    @app.command("emotion")
    def emotion(
        files: list[Path] = typer.Argument(..., help="clips or calls: wav, flac, mp3, ogg/opus, m4a"),
        same_speaker: bool = typer.Option(
            False, "--same-speaker",
            help="the clips are one speaker's: judge each against their joint baseline, as a speaker's turns "
                 "within a call are"),
        with_text: bool = typer.Option(
            None, "--with-text/--no-text",
            help="transcribe clips and use their words too (default: off for clips; calls always use words)"),
        call: bool = typer.Option(False, "--call", help="treat every file as a call (turns, trajectories, events)"),
        call_after: float = typer.Option(20.0, "--call-after", help="recordings longer than this (s) are calls"),
        language: str = typer.Option(None, "--language", "-l", help="en or zh (default: detected, or the config)"),
        output_format: EmotionFormat = typer.Option(EmotionFormat.text, "--format", "-f"),
        config: Path = ConfigOption,
    ) -> None:
        """Emotion of each clip (label, valence, arousal 0 = calm … 1 = aroused, scores), or of each call's turns."""
        from engine.audio import load_recording
        from engine.pipeline import engine_for

        app_config = config_or_exit(config)
        engine = engine_for(app_config)
        analyzer = engine.emotion
        results: list[dict[str, Any]] = []

        def one(path: Path) -> tuple[Path, Any, str, str | None] | None:
            """A clip to judge with the others (returned), or a call judged here (its result kept)."""
            recording = load_recording(path, app_config.audio)
            if not (call or recording.duration > call_after):
                text = ""
                clip_language = language
                if with_text:
                    transcript = engine.transcriber.transcribe(recording, language=language)
                    text, clip_language = transcript.text, transcript.language
                return path, recording, text, clip_language
            analysis = engine.analyze(path, language=language)
            whole = analyzer.clips([recording.mono()], language=analysis.transcript.language
                                   if analysis.transcript else language)[0]
            results.append({"file": str(path), **_emotion_fields(whole), **_call_fields(analysis)})
            return None

        def judge(group: list[tuple[Path, Any, str, str | None]]) -> list[dict[str, Any]]:
            texts = [t for _, _, t, _ in group] if with_text else None
            emotions = analyzer.clips([r.mono() for _, r, _, _ in group], language=group[0][3],
                                      same_speaker=same_speaker, texts=texts)
            return [{"file": str(path), **({"text": text} if with_text else {}), **_emotion_fields(judged)}
                    for (path, _, text, _), judged in zip(group, emotions, strict=True)]

        loaded, failures = for_each_file(files, one)
        clips = [clip for clip in loaded if clip is not None]
        for group in [clips] if same_speaker and clips else [[c] for c in clips]:
            # A group is judged together (--same-speaker: one baseline), so it fails together; the error
            # is reported under its first file.
            rows, failed = for_each_file([group[0][0]], lambda _first, g=group: judge(g))
            results.extend(row for judged in rows for row in judged)
            failures += failed * len(group)
        order = {str(p): k for k, p in enumerate(files)}
        for result in sorted(results, key=lambda r: order.get(r["file"], 0)):
            if output_format == EmotionFormat.json:
                typer.echo(json.dumps(result, ensure_ascii=False))
            else:
                _print_text(result)
        if failures:
            failed_files_note(failures, len(files))
            raise typer.Exit(1)
