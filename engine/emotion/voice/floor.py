"""A floor under a speaker's feature spread, measured on calm conversational speech.

Per-speaker normalisation divides a turn's departure from the speaker's usual by the speaker's own
spread. A calm speaker's turns vary little, so their small spread blows ordinary variation up into
z-scores that a head fitted on actors (whose spread spans every emotion) reads as emotion: some turns
of any calm speaker are guaranteed to look "aroused". The floor is the spread ordinary conversation
shows within one speaker: a baseline's standard deviation is never taken smaller than that.

It is measured per head (it lives in the head's vector layout) on speech that is calm by definition:
the turns of real calm service calls and read speech, each speaker's turns on their own
(``spread_floor``), and stored in the head with how it was measured (``VoiceEmotionModel.spread_floor``,
the card's ``spread_floor``). The head is never fitted on these turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.emotion.voice.encoder import SAMPLE_RATE


@dataclass(frozen=True)
class CalmTurn:
    """One turn of calm speech: where it is, whose it is."""

    source: str
    """The recording's name (a call or a read-speech file)."""
    speaker: str
    """Unique across sources (``<source>/<speaker>``)."""
    path: Path
    channel: int | None
    """The channel of a stereo call that holds the speaker; None: the mono mix."""
    start: float
    end: float


def spread_floor(vectors: np.ndarray, speakers: Sequence[str] | np.ndarray, min_turns: int = 3,
                 quantile: float = 0.5) -> np.ndarray:
    """Per column, the ``quantile`` over calm speakers of their own standard deviation (speakers with at least
    ``min_turns`` turns; NaN entries skipped).

    The median speaker's spread by default: a calm speaker more monotonous than half of calm conversation is
    judged as if they varied like a typical one; a livelier speaker keeps their own, larger spread.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    speakers = np.asarray(speakers)
    spreads = [np.nanstd(vectors[speakers == s], axis=0, ddof=1) for s in np.unique(speakers)
               if (speakers == s).sum() >= min_turns]
    if not spreads:
        raise ValueError(f"no calm speaker has {min_turns} turns: the spread floor cannot be measured")
    return np.nan_to_num(np.nanquantile(np.stack(spreads), quantile, axis=0), nan=0.0)


def turns_from_rttm(path: Path, rttm: Path, source: str, min_seconds: float = 1.0,
                    channel_speakers: bool = False) -> list[CalmTurn]:
    """Turns of a recording from an RTTM file (``callqa diarize -f rttm`` or a reference one).

    ``channel_speakers``: the RTTM's speakers are ``channel_<k>`` of a stereo call, read from that channel.
    """
    turns = []
    for line in Path(rttm).read_text().splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] != "SPEAKER":
            continue
        start, duration, who = float(fields[3]), float(fields[4]), fields[7]
        if duration < min_seconds:
            continue
        channel = int(who.rsplit("_", 1)[1]) if channel_speakers else None
        turns.append(CalmTurn(source, f"{source}/{who}", Path(path), channel, start, start + duration))
    return turns


def turns_by_pauses(path: Path, source: str, speaker: str = "reader", top_db: float = 30.0,
                    min_seconds: float = 1.0) -> list[CalmTurn]:
    """One speaker's read sentences, split at pauses (energy ``top_db`` below the peak for over 0.3 s)."""
    import librosa

    from engine.audio.decode import load_recording

    audio = load_recording(path).mono()
    spans = librosa.effects.split(audio, top_db=top_db, frame_length=1024, hop_length=256)
    merged: list[list[float]] = []
    for a, b in spans / SAMPLE_RATE:
        if merged and a - merged[-1][1] < 0.3:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return [CalmTurn(source, f"{source}/{speaker}", Path(path), None, a, b) for a, b in merged if b - a >= min_seconds]
