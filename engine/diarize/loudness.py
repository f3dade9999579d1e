"""Loudness of each speaker: RMS level (dBFS) over the stretches where that speaker talks alone.

Stereo takes each party from their own channel; mono from the mixed signal. Overlapping speech is
left out, so that one speaker's level does not include the other's voice.
"""

from __future__ import annotations

import numpy as np
from pyannote.core import Annotation

SILENT_DBFS = -120.0


def speaker_levels_dbfs(speech: Annotation, signals: dict[str, np.ndarray],
                        sample_rate: int = 16000) -> dict[str, float]:
    """Level of each speaker over their ``speech``, measured on ``signals[speaker]`` (their channel, or the mix)."""
    levels: dict[str, float] = {}
    for label in speech.labels():
        signal = signals.get(str(label))
        if signal is None:
            continue
        energy, count = 0.0, 0
        for segment in speech.label_timeline(label):
            piece = signal[int(segment.start * sample_rate): int(segment.end * sample_rate)].astype(np.float64)
            energy += float(np.sum(piece ** 2))
            count += piece.size
        if count:
            mean = energy / count
            levels[str(label)] = round(10 * np.log10(mean), 1) if mean > 0 else SILENT_DBFS
    return levels
