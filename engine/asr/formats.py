"""Transcript output formats: plain text, SubRip and WebVTT (JSON is the record itself)."""

from __future__ import annotations

from engine.record import CallAnalysis, Transcript


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _label(transcript: Transcript, channel: int) -> str:
    channels = {s.channel for s in transcript.segments}
    return f"[channel {channel}] " if len(channels) > 1 else ""


def to_text(transcript: Transcript) -> str:
    return "\n".join(f"{_label(transcript, s.channel)}{s.text.strip()}" for s in transcript.segments)


def to_srt(transcript: Transcript) -> str:
    blocks = []
    for index, seg in enumerate(transcript.segments, start=1):
        blocks.append(f"{index}\n{_clock(seg.start, ',')} --> {_clock(seg.end, ',')}\n"
                      f"{_label(transcript, seg.channel)}{seg.text.strip()}\n")
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    cues = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{_label(transcript, s.channel)}{s.text.strip()}\n"
            for s in transcript.segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def transcript_json(analysis: CallAnalysis) -> dict[str, object]:
    """The CLI's per-file JSON object: the call's facts, the text and every word with its channel."""
    transcript = analysis.transcript
    assert transcript is not None
    return {
        "file": analysis.call.source,
        "call_id": analysis.call.call_id,
        "language": transcript.language,
        "language_probability": round(transcript.language_probability, 4),
        "model": transcript.model,
        "duration": round(analysis.call.duration, 3),
        "channels": analysis.call.channels,
        "text": transcript.text,
        "words": [w.model_dump(exclude={"speaker"}) for w in transcript.words],
        "segments": [s.model_dump() for s in transcript.segments],
        "warnings": analysis.call.warnings,
        "timings": {t.stage: t.seconds for t in analysis.timings},
    }
