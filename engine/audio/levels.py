"""Channel levels: how loud each channel's active speech is, and which channels are dead."""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.05
# The level of a channel is taken at a high percentile of its frame levels: speech occupies only part
# of a call (one party listens while the other talks), so a mean would call a quiet talker dead.
ACTIVE_PERCENTILE = 95.0


def frame_rms_db(signal: np.ndarray, sample_rate: int, frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """RMS level in dBFS of consecutive frames (``-120`` for digital silence)."""
    frame = max(1, int(sample_rate * frame_seconds))
    usable = (len(signal) // frame) * frame
    if usable == 0:
        rms = np.sqrt(np.mean(np.square(signal, dtype=np.float64))) if len(signal) else 0.0
        return np.array([20 * np.log10(max(rms, 1e-6))])
    frames = signal[:usable].reshape(-1, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def channel_activity_db(samples: np.ndarray, sample_rate: int) -> list[float]:
    """Active-speech level (dBFS) of each channel."""
    return [float(np.percentile(frame_rms_db(row, sample_rate), ACTIVE_PERCENTILE)) for row in samples]


def dead_channels(levels: list[float], silence_dbfs: float, relative_db: float) -> list[int]:
    """Channels that are silent, or so far below the loudest that they carry only line noise or echo."""
    if len(levels) < 2:
        return []
    loudest = max(levels)
    return [i for i, level in enumerate(levels) if level < silence_dbfs or level < loudest + relative_db]


def duplicate_channels(samples: np.ndarray, threshold: float = 0.98) -> list[int]:
    """Channels that repeat an earlier channel (dual-mono files): analysing them twice doubles every word."""
    duplicates: list[int] = []
    for i in range(1, samples.shape[0]):
        for j in range(i):
            if j in duplicates:
                continue
            a, b = samples[i].astype(np.float64), samples[j].astype(np.float64)
            denom = np.sqrt(np.dot(a, a) * np.dot(b, b))
            if denom > 0 and np.dot(a, b) / denom >= threshold:
                duplicates.append(i)
                break
    return duplicates
