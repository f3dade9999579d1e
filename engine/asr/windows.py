"""Where the speech is, and how it is cut into decoding windows, each with its own token budget.

Silero VAD (bundled with faster-whisper) finds the speech; each stretch is padded a little (a word's
onset and release are quiet), and neighbouring stretches are packed, silence between them removed, into
windows of at most ``window_seconds`` (Whisper hears 30 s at a time). Each window is decoded once, as one
piece: Whisper never gets a fraction of a second of trailing noise as a window of its own (that is where
the 224-token loops came from), and a window may not write more tokens than its speech can hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

SAMPLE_RATE = 16000
WHISPER_MAX_NEW_TOKENS = 224
"""Whisper's own cap on the tokens of one 30 s window (``sample_len``: half its text context)."""

Span = tuple[float, float]


@dataclass(frozen=True)
class Window:
    """One decoding window: stretches of the recording (seconds), decoded back to back as one piece."""

    spans: tuple[Span, ...]

    @property
    def seconds(self) -> float:
        return sum(end - start for start, end in self.spans)

    @property
    def start(self) -> float:
        return self.spans[0][0]

    @property
    def end(self) -> float:
        return self.spans[-1][1]

    def samples(self, audio: np.ndarray) -> np.ndarray:
        return np.concatenate([audio[round(s * SAMPLE_RATE):round(e * SAMPLE_RATE)] for s, e in self.spans])

    def chunks(self) -> list[dict[str, int]]:
        """The spans as faster-whisper's speech chunks (samples), to map window times back to the call."""
        return [{"start": round(s * SAMPLE_RATE), "end": round(e * SAMPLE_RATE)} for s, e in self.spans]

    def after(self, time: float) -> Window | None:
        """The part of the window from ``time`` on (None when nothing is left)."""
        rest = tuple((max(start, time), end) for start, end in self.spans if end > time)
        return Window(rest) if rest and rest[0][1] > rest[0][0] else None

    def between(self, start: float, end: float) -> Window | None:
        """The part of the window from ``start`` to ``end`` (None when nothing of it is left)."""
        part = tuple((max(s, start), min(e, end)) for s, e in self.spans if e > start and s < end)
        return Window(part) if part else None

    def split(self) -> list[Window]:
        """One window per stretch: the fallback for a window whose decode looped."""
        return [Window((span,)) for span in self.spans]


def speech_spans(audio: np.ndarray, threshold: float, min_silence_ms: int, max_seconds: float) -> list[Span]:
    """Speech stretches in seconds, unpadded: what the VAD heard as voice."""
    options = VadOptions(threshold=threshold, min_silence_duration_ms=min_silence_ms, speech_pad_ms=0,
                         max_speech_duration_s=max_seconds)
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in get_speech_timestamps(audio, options)]


def pad_spans(spans: list[Span], pad: float, duration: float) -> list[Span]:
    """Each stretch widened by ``pad`` seconds on both sides (within the recording), overlaps merged."""
    merged: list[list[float]] = []
    for start, end in spans:
        start, end = max(0.0, start - pad), min(duration, end + pad)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def pack_windows(spans: list[Span], window_seconds: float) -> list[Window]:
    """Consecutive stretches packed into windows of at most ``window_seconds`` of audio each."""
    windows: list[Window] = []
    current: list[Span] = []
    for start, end in spans:
        while end - start > window_seconds:  # only without VAD: the whole recording is one stretch
            if current:
                windows.append(Window(tuple(current)))
                current = []
            windows.append(Window(((start, start + window_seconds),)))
            start += window_seconds
        if current and sum(e - s for s, e in current) + (end - start) > window_seconds:
            windows.append(Window(tuple(current)))
            current = []
        current.append((start, end))
    if current:
        windows.append(Window(tuple(current)))
    return windows


def token_budget(seconds: float, per_second: float, minimum: int) -> int:
    """How many tokens a window of ``seconds`` of speech may produce: enough for fast speech, not a loop."""
    return min(WHISPER_MAX_NEW_TOKENS, max(minimum, ceil(per_second * seconds)))


def overlap(span: Span, spans: list[Span]) -> float:
    """Seconds of ``span`` that fall inside ``spans``."""
    start, end = span
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in spans)
