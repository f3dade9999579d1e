"""Stereo calls: each channel is one party, so diarization is speech activity per channel.

A recorder's channels are rarely perfectly separated: the agent's headset picks up the customer's
voice from the earpiece, a line echoes the other side. Such cross-talk (bleed) is much quieter than
the speaker's own voice on their own channel, so where two channels are active at once each frame
goes to the channels within ``bleed_margin_db`` of the loudest one. What is left on two channels is
real overlapping speech, and its timing is exact.
"""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps
from pyannote.audio.utils.signal import Binarize
from pyannote.core import Annotation, Segment, SlidingWindow, SlidingWindowFeature, Timeline

from engine.diarize.config import StereoSettings

FRAME_STEP = 0.01  # seconds: resolution of the per-channel activity grid
SILENT_DB = -120.0


def channel_label(channel: int) -> str:
    """The speaker label of an original channel index."""
    return f"channel_{channel}"


def speech_timeline(samples: np.ndarray, settings: StereoSettings, sample_rate: int = 16000) -> Timeline:
    """Where one channel carries speech (silero VAD, as bundled with faster-whisper)."""
    options = VadOptions(
        threshold=settings.vad_threshold,
        min_speech_duration_ms=round(settings.min_speech_seconds * 1000),
        min_silence_duration_ms=round(settings.min_silence_seconds * 1000),
        speech_pad_ms=round(settings.speech_pad_seconds * 1000),
    )
    stamps = get_speech_timestamps(np.ascontiguousarray(samples, dtype=np.float32), options, sample_rate)
    return Timeline([Segment(s["start"] / sample_rate, s["end"] / sample_rate) for s in stamps]).support()


def frame_levels_db(samples: np.ndarray, window_seconds: float, num_frames: int,
                    sample_rate: int = 16000) -> np.ndarray:
    """RMS level (dBFS) in a ``window_seconds`` window centred on each 10 ms frame."""
    hop = round(FRAME_STEP * sample_rate)
    half = max(1, round(window_seconds * sample_rate / 2))
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    centres = np.arange(num_frames) * hop + hop // 2
    lo = np.clip(centres - half, 0, len(samples))
    hi = np.clip(centres + half, 0, len(samples))
    mean = (energy[hi] - energy[lo]) / np.maximum(hi - lo, 1)
    return np.where(mean > 0, 10 * np.log10(np.maximum(mean, 1e-20)), SILENT_DB)


def _rasterise(timeline: Timeline, num_frames: int) -> np.ndarray:
    active = np.zeros(num_frames, dtype=bool)
    for segment in timeline:
        active[int(segment.start / FRAME_STEP): int(np.ceil(segment.end / FRAME_STEP))] = True
    return active


def resolve_bleed(activity: np.ndarray, levels_db: np.ndarray, margin_db: float) -> np.ndarray:
    """Keep a channel active only where it is within ``margin_db`` of the loudest active channel.

    ``activity`` and ``levels_db`` are (channels, frames); returns the cleaned (channels, frames) activity.
    """
    masked = np.where(activity, levels_db, -np.inf)
    loudest = masked.max(axis=0, keepdims=True)
    return activity & (levels_db >= loudest - margin_db)


def diarize_by_channel(samples: np.ndarray, channel_ids: list[int], settings: StereoSettings,
                       uri: str = "call", sample_rate: int = 16000) -> Annotation:
    """Who spoke when in a multi-channel call: one speaker per channel, bleed given to its source."""
    num_frames = int(np.ceil(samples.shape[1] / sample_rate / FRAME_STEP))
    activity = np.stack([_rasterise(speech_timeline(row, settings, sample_rate), num_frames) for row in samples])
    levels = np.stack([frame_levels_db(row, settings.frame_seconds, num_frames, sample_rate) for row in samples])
    cleaned = resolve_bleed(activity, levels, settings.bleed_margin_db)
    frames = SlidingWindow(start=0.0, duration=FRAME_STEP, step=FRAME_STEP)
    binarize = Binarize(onset=0.5, offset=0.5, min_duration_on=settings.min_speech_seconds,
                        min_duration_off=settings.min_silence_seconds)
    labels = [channel_label(channel) for channel in channel_ids]
    annotation = binarize(SlidingWindowFeature(cleaned.T.astype(np.float32), frames, labels=labels))
    annotation.uri = uri
    return annotation
