"""A case's audio: a clip of the call around its moments, cut with soundfile.

The clip is cut from the redacted copy of the recording when redaction was on (``analysis.redaction.audio``),
so the parties' names and numbers stay masked. When redaction was off the only source is the original
recording, which carries them: it leaves the store only when the caller opts in (``allow_original``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import soundfile as sf

from engine.cases.config import ExportConfig
from engine.record import CallAnalysis

ClipSource = Literal["redacted", "original"]


@dataclass(frozen=True)
class AudioClip:
    """WAV bytes of the clip, where it sits in the call, and what it was cut from."""

    wav: bytes
    start: float
    end: float
    source: ClipSource


def clip_window(moments: list[tuple[float, float]], duration: float, config: ExportConfig) -> tuple[float, float]:
    """From the first moment to the last, padded, within the call and at most ``max_clip_s`` long."""
    if not moments:
        return 0.0, min(duration, config.max_clip_s)
    start = max(0.0, min(s for s, _ in moments) - config.clip_padding_s)
    end = min(duration, max(e for _, e in moments) + config.clip_padding_s)
    return start, min(end, start + config.max_clip_s)


def clip_source(analysis: CallAnalysis, allow_original: bool) -> tuple[Path, ClipSource] | None:
    """The recording a clip may be cut from, or None when none may leave the store (or none is there)."""
    redacted = analysis.redaction.audio if analysis.redaction else None
    if redacted:
        path = Path(redacted)
        return (path, "redacted") if path.is_file() else None
    if analysis.redaction is not None or not allow_original:
        return None  # redaction on but its copy is missing: never fall back to the original
    path = Path(analysis.call.source)
    return (path, "original") if path.is_file() else None


def cut_clip(analysis: CallAnalysis, moments: list[tuple[float, float]], config: ExportConfig,
             allow_original: bool = False) -> AudioClip | None:
    """The clip around ``moments`` (seconds), as 16-bit WAV at the recording's own rate and channels."""
    found = clip_source(analysis, allow_original)
    if found is None:
        return None
    path, source = found
    start, end = clip_window(moments, analysis.call.duration, config)
    with sf.SoundFile(path) as audio:
        rate = audio.samplerate
        audio.seek(min(int(start * rate), audio.frames))
        samples = audio.read(max(0, int((end - start) * rate)), dtype="float32", always_2d=True)
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return AudioClip(buffer.getvalue(), round(start, 3), round(start + len(samples) / rate, 3), source)
