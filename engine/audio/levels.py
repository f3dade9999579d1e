"""Channel levels: how loud each channel's speech is, how far it stands above its own noise floor.

Whether a channel carries speech is judged against the recording itself, not an absolute level: a
quiet line (speech peaking at -40 dBFS over digital silence) is speech, a loud steady hum is not.
Each channel's 50 ms frame levels give two figures: its *floor* (a low percentile: the pauses between
words, i.e. line noise, hiss or digital silence) and its *speech level* (a high percentile of the
frames that stand out of that floor). Speech rises and falls by tens of dB between syllables and
pauses; steady noise (hum, hiss, white noise) stays within a dB or two of its own floor at any level.
Taking the speech level over the active frames only keeps it independent of how much of the recording
is speech: one short "hello?" in a minute of silence, or a party who mostly listens, is measured at the
level they spoke at, not dragged down by the silence around it.

Levels cannot tell a channel that is speech from start to end from steady noise: its floor is speech
too (a 1.8 s voice command, a levelled 2 s acted clip). A channel they find steady is listened to
(``voice.py``: Silero VAD, pYIN pitch) before it is called noise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.audio.voice import VoiceEvidence, VoiceRule, voice_evidence

FRAME_SECONDS = 0.05
SPEECH_PERCENTILE = 95.0
FLOOR_PERCENTILE = 10.0
# Frames of digital silence have no level (log of zero); they count as this, far below any real floor.
SILENT_FRAME_DB = -120.0
# Speech needs at least this much time above the floor (a lone click or pop is not a voice).
MIN_ACTIVE_SECONDS = 0.2


@dataclass(frozen=True)
class ChannelLevel:
    """One channel's speech level and noise floor (dBFS, 50 ms frame RMS)."""

    speech_db: float
    floor_db: float
    active_seconds: float
    """time spent at least the rule's margin above the floor"""
    voice: VoiceEvidence | None = None
    """what the voice detectors heard, for a channel whose levels alone look steady"""

    @property
    def contrast_db(self) -> float:
        """How far the channel's loud frames stand above its floor."""
        return self.speech_db - self.floor_db


@dataclass(frozen=True)
class SpeechRule:
    """When a channel counts as carrying speech."""

    silence_dbfs: float
    """below this speech level a channel is silent whatever its floor (a few steps of a 16-bit file)"""
    over_floor_db: float
    """the speech level must stand at least this far above the channel's own floor"""
    voice: VoiceRule | None = None
    """when a channel whose levels look steady holds a voice all the same (None: levels alone)"""

    def stands_out(self, level: ChannelLevel) -> bool:
        """Whether the channel's levels alone show speech: enough frames well above its floor."""
        return level.contrast_db >= self.over_floor_db and level.active_seconds >= MIN_ACTIVE_SECONDS

    def verdict(self, level: ChannelLevel) -> str:
        """``"speech"``, ``"silent"`` (too quiet to hold anything) or ``"steady"`` (noise without speech)."""
        if level.speech_db < self.silence_dbfs:
            return "silent"
        if self.stands_out(level):
            return "speech"
        if self.voice is not None and level.voice is not None and self.voice.holds_voice(level.voice):
            return "speech"
        return "steady"

    def has_speech(self, level: ChannelLevel) -> bool:
        return self.verdict(level) == "speech"


def frame_rms_db(signal: np.ndarray, sample_rate: int, frame_seconds: float = FRAME_SECONDS) -> np.ndarray:
    """RMS level in dBFS of consecutive frames (``SILENT_FRAME_DB`` for digital silence)."""
    frame = max(1, int(sample_rate * frame_seconds))
    usable = (len(signal) // frame) * frame
    if usable == 0:
        frames = np.asarray(signal, dtype=np.float64).reshape(1, -1) if len(signal) else np.zeros((1, 1))
    else:
        frames = signal[:usable].reshape(-1, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    floor = 10 ** (SILENT_FRAME_DB / 20)
    return 20 * np.log10(np.maximum(rms, floor))


def channel_level(signal: np.ndarray, sample_rate: int, over_floor_db: float) -> ChannelLevel:
    """Floor, and speech level over the frames at least ``over_floor_db`` above it, of one channel."""
    frames = frame_rms_db(signal, sample_rate)
    floor = float(np.percentile(frames, FLOOR_PERCENTILE))
    active = frames[frames >= floor + over_floor_db]
    # Without active frames there is no speech to measure: the loud end of all frames stands for it.
    speech = float(np.percentile(active if active.size else frames, SPEECH_PERCENTILE))
    return ChannelLevel(speech_db=speech, floor_db=floor, active_seconds=active.size * FRAME_SECONDS)


def channel_levels(samples: np.ndarray, sample_rate: int, rule: SpeechRule) -> list[ChannelLevel]:
    """``channel_level`` of each row of ``samples``; a row audible but steady by levels is listened to.

    Only those rows pay for the voice detectors: a recording with pauses (every call) is settled by its
    levels, and a silent one has nothing to hear.
    """
    levels = []
    for row in samples:
        level = channel_level(row, sample_rate, rule.over_floor_db)
        if rule.voice is not None and level.speech_db >= rule.silence_dbfs and not rule.stands_out(level):
            level = replace(level, voice=voice_evidence(row, sample_rate, rule.voice))
        levels.append(level)
    return levels


def dead_channels(levels: list[ChannelLevel], rule: SpeechRule, relative_db: float) -> list[int]:
    """Channels of a multi-channel file that carry no speech of their own.

    A channel is dead when it holds no speech by ``rule`` (silent, or steady noise), or when its speech
    level is more than ``-relative_db`` below the loudest channel that does hold speech: a line's echo or
    the other party's voice bleeding through a headset rises and falls like speech, but far below it.
    A loud hum on one channel is not a reference for the others.
    """
    if len(levels) < 2:
        return []
    speaking = [level.speech_db for level in levels if rule.has_speech(level)]
    loudest = max(speaking) if speaking else float("inf")
    return [i for i, level in enumerate(levels)
            if not rule.has_speech(level) or level.speech_db < loudest + relative_db]


def normalising_gain_db(levels: list[ChannelLevel], rule: SpeechRule, target_dbfs: float,
                        max_gain_db: float) -> float:
    """The one gain (dB) that brings the loudest speaking channel's speech level to ``target_dbfs``.

    One gain for the whole recording keeps the parties' levels relative to each other (a loud agent
    stays louder than a quiet customer). Attenuation is not limited; amplification is, at ``max_gain_db``.
    """
    speaking = [level.speech_db for level in levels if rule.has_speech(level)]
    if not speaking:
        return 0.0
    return float(min(target_dbfs - max(speaking), max_gain_db))


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
