"""The redacted copy of the recording: each span replaced by a tone or silence, on its own channel.

The copy is the audio as analysed — 16 kHz, the channels intake kept — with intake's level gain undone
(``redact.audio.original_level``) so it sounds as recorded. Re-encoding the original file at its own rate
and codec would mean a second decoder path for every format intake reads; a QA reviewer or trainee
loses nothing at 16 kHz on telephone speech, and a dropped dead channel carried no speech to hear.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from engine.audio import Recording
from engine.record import RedactedSpan
from engine.redact.config import AudioMaskConfig

# A tone that starts or stops at full level clicks; a short ramp keeps the fill clean.
RAMP_SECONDS = 0.005


def fill_spans(recording: Recording, spans: list[RedactedSpan], config: AudioMaskConfig) -> np.ndarray:
    """The recording's samples (channels × samples) with every span, plus the margin, filled."""
    samples = recording.samples.copy()
    if config.original_level and recording.gain_db:
        samples *= np.float32(10 ** (-recording.gain_db / 20))
    rate = recording.sample_rate
    total = samples.shape[1]
    for span in spans:
        first = max(0, int((span.start - config.margin_s) * rate))
        last = min(total, int(np.ceil((span.end + config.margin_s) * rate)))
        if last <= first:
            continue
        rows = ([recording.channel_ids.index(span.channel)] if span.channel in recording.channel_ids
                else range(samples.shape[0]))  # a mono call, or a span whose channel was merged: every channel
        fill = _fill(last - first, first, rate, config)
        for row in rows:
            samples[row, first:last] = fill
    return samples


def _fill(length: int, first: int, rate: int, config: AudioMaskConfig) -> np.ndarray:
    if config.fill == "silence":
        return np.zeros(length, dtype=np.float32)
    t = (first + np.arange(length)) / rate
    tone = (10 ** (config.tone_dbfs / 20) * np.sin(2 * np.pi * config.tone_hz * t)).astype(np.float32)
    ramp = min(length // 2, int(RAMP_SECONDS * rate))
    if ramp:
        envelope = np.linspace(0.0, 1.0, ramp, dtype=np.float32)
        tone[:ramp] *= envelope
        tone[-ramp:] *= envelope[::-1]
    return tone


def write_redacted_copy(recording: Recording, spans: list[RedactedSpan], config: AudioMaskConfig,
                        call_id: str) -> Path:
    """Write ``<directory>/<call id>.wav`` (16-bit PCM, 16 kHz) and return its absolute path."""
    folder = Path(config.directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / f"{call_id}.wav").resolve()
    samples = fill_spans(recording, spans, config)
    sf.write(path, samples.T.clip(-1.0, 1.0), recording.sample_rate, subtype="PCM_16")
    return path
