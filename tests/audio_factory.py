"""Write small test recordings in any container and codec a recorder might produce (via PyAV)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

LAYOUTS = {1: "mono", 2: "stereo", 4: "quad"}


def tone(seconds: float, rate: int, freq: float = 220.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    # A voiced-speech-like signal: harmonics with a syllable-rate envelope.
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 3 * t))
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    return (level * envelope * wave / 2).astype(np.float32)


def write_audio(path: Path, samples: np.ndarray, rate: int, codec: str = "pcm_s16le",
                container: str | None = None) -> Path:
    """``samples``: float32 in [-1, 1], shape (channels, n) or (n,)."""
    if samples.ndim == 1:
        samples = samples[None, :]
    channels = samples.shape[0]
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=LAYOUTS[channels])
        fmt = stream.codec_context.codec.audio_formats[0].name if stream.codec_context.codec.audio_formats else "s16"
        frame_size = stream.codec_context.frame_size or 1024
        resampler = av.AudioResampler(format=fmt, layout=LAYOUTS[channels], rate=rate)
        pts = 0
        for start in range(0, samples.shape[1], frame_size):
            block = np.ascontiguousarray(samples[:, start:start + frame_size], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=LAYOUTS[channels])
            frame.sample_rate = rate
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            pts += block.shape[1]
            for converted in resampler.resample(frame):
                for packet in stream.encode(converted):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def levelled(signal: np.ndarray, rate: int, rms_dbfs: float = -16.0, frame_seconds: float = 0.02,
             max_gain: float = 30.0) -> np.ndarray:
    """``signal`` through a fast AGC, as a phone or a voice assistant records a command: every 20 ms
    brought to about the same level, so the quietest stretch of continuous speech sits a few dB under
    its loudest (issue 24: a real command stood 2.9 dB above its "floor")."""
    import librosa

    hop = int(rate * frame_seconds)
    rms = librosa.feature.rms(y=signal, frame_length=2 * hop, hop_length=hop)[0]
    gain = np.minimum(10 ** (rms_dbfs / 20) / np.maximum(rms, 1e-4), max_gain)
    gain = np.interp(np.arange(signal.size), np.arange(gain.size) * hop, gain)
    out = signal * gain
    out *= 10 ** (rms_dbfs / 20) / np.sqrt(np.mean(out**2))
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def speech_cut(signal: np.ndarray, rate: int, seconds: float, top_db: float = 30.0) -> np.ndarray:
    """The first ``seconds`` of ``signal`` once its leading and trailing silence are trimmed."""
    import librosa

    speech, _ = librosa.effects.trim(signal, top_db=top_db)
    if speech.size < int(seconds * rate):
        raise ValueError(f"only {speech.size / rate:.2f} s of speech, {seconds:.2f} s asked for")
    return speech[: int(seconds * rate)].astype(np.float32)
