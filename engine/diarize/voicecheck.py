"""Mono calls: each phrase's words checked against the two parties' voices.

pyannote decides who speaks in windows of several seconds, and matches the local speakers of each
window to the call's speakers by embeddings of whole windows. Where it gets one window's match wrong,
or hears a short reply over the other party as overlap, a whole line of the customer ends up inside an
agent turn (measured on a real call mixed to mono: "Great. Thank you so much. You saved me a trip." given
to the agent). The words themselves say where a phrase starts and ends, so each phrase can be heard
again on its own: its CAM++ embedding against the centroid of each speaker's phrases.

A phrase is a run of one speaker's words without a pause (``phrase_gap_seconds``; after a comma, where
the speaker usually goes on, ``clause_gap_seconds``), cut to at most
``phrase_max_seconds`` at its longest inner pause. A phrase moves to the other speaker only when its
voice is clearly closer to that speaker's (``margin``); too short a phrase (``min_phrase_seconds``) is
not judged. The centroids are re-estimated from the phrases after each pass, so one wrong window of
pyannote's does not set the reference it is checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.diarize.config import VoiceCheckSettings
from engine.record import Word

if TYPE_CHECKING:
    # the embedder holds torch: the stage imports this module whether or not a call is mono
    from engine.diarize.embedding import CamPlusPlusEmbedding

# A word ending a clause but not a sentence: its speaker usually goes on after the pause.
CLAUSE_MARKS = (",", "，", "、", ";", "；", ":", "：")


@dataclass
class Phrase:
    """Consecutive words of one speaker with no pause between them."""

    indices: list[int]
    start: float
    end: float
    speaker: str

    @property
    def seconds(self) -> float:
        return self.end - self.start


def phrases(words: list[Word], speakers: list[str], settings: VoiceCheckSettings) -> list[Phrase]:
    """Words (in time order) cut into phrases at every change of speaker and every pause."""
    order = sorted(range(len(words)), key=lambda i: (words[i].start, words[i].end))
    runs: list[list[int]] = []
    for index in order:
        if runs:
            last = runs[-1][-1]
            gap = words[index].start - words[last].end
            limit = settings.clause_gap_seconds if words[last].text.rstrip().endswith(CLAUSE_MARKS) else \
                settings.phrase_gap_seconds
            if speakers[last] == speakers[index] and gap < limit:
                runs[-1].append(index)
                continue
        runs.append([index])
    found: list[Phrase] = []
    for run in runs:
        found.extend(_capped(words, run, speakers[run[0]], settings.phrase_max_seconds))
    return found


def _capped(words: list[Word], run: list[int], speaker: str, max_seconds: float) -> list[Phrase]:
    start, end = words[run[0]].start, max(words[i].end for i in run)
    if end - start <= max_seconds or len(run) < 2:
        return [Phrase(run, start, end, speaker)]
    gaps = [words[run[k]].start - words[run[k - 1]].end for k in range(1, len(run))]
    cut = 1 + int(np.argmax(gaps))
    return _capped(words, run[:cut], speaker, max_seconds) + _capped(words, run[cut:], speaker, max_seconds)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def recheck_by_voice(words: list[Word], speakers: list[str], waveform: np.ndarray, sample_rate: int,
                     embedder: CamPlusPlusEmbedding, settings: VoiceCheckSettings) -> list[str]:
    """The speaker of each word after its phrase was heard against both speakers' voices."""
    labels = sorted(set(speakers))
    if len(labels) != 2 or not words:
        return list(speakers)  # one speaker, or a crowd: nothing to choose between
    if sample_rate != embedder.sample_rate:
        raise ValueError(f"the voice check needs {embedder.sample_rate} Hz audio, not {sample_rate} Hz")
    found = phrases(words, speakers, settings)
    features = embedder.fbank(waveform)
    judged = [p for p in found if p.seconds >= settings.min_phrase_seconds]
    if len(judged) < 2:
        return list(speakers)
    shift = embedder.frame_shift
    items = [features[round(p.start / shift): round(p.end / shift)] for p in judged]
    embeddings = embedder.embed_features(items, max_seconds=settings.phrase_max_seconds)
    usable = ~np.isnan(embeddings).any(axis=1)
    judged = [p for p, ok in zip(judged, usable, strict=True) if ok]
    vectors = _unit(embeddings[usable])
    current = [p.speaker for p in judged]
    weights = np.array([p.seconds for p in judged])
    for _ in range(settings.passes):
        mine = {label: np.array([s == label for s in current]) for label in labels}
        if not all(m.any() for m in mine.values()):
            return list(speakers)  # every phrase went one way: no second voice to check against
        sums = {label: (vectors[m] * weights[m, None]).sum(axis=0) for label, m in mine.items()}
        moved = False
        for k, own in enumerate(current):
            other = labels[1] if own == labels[0] else labels[0]
            # the phrase is left out of its own speaker's centroid, so it cannot vouch for itself
            own_centroid = _unit(sums[own] - weights[k] * vectors[k])
            if float(vectors[k] @ _unit(sums[other]) - vectors[k] @ own_centroid) >= settings.margin:
                current[k] = other
                moved = True
        if not moved:
            break
    result = list(speakers)
    for phrase, speaker in zip(judged, current, strict=True):
        for index in phrase.indices:
            result[index] = speaker
    return result
