"""Words to speakers, speakers' words to turns.

A word goes to the speaker whose speech covers most of it (so a word straddling a change of
speaker goes to the one who said most of it); in stereo, to its channel's party. Overlapping speech
keeps both speakers' words: turns are built per speaker, so a customer's words said while the agent
talks make the customer's own turn instead of cutting the agent's turn in pieces. A speaker's turn
ends at a long pause, or where another speaker takes the floor in between (a backchannel such as
"mm-hmm" does not take the floor).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from pyannote.core import Annotation, Segment

from engine.diarize.config import TurnSettings
from engine.record import Turn, Word

BackchannelTest = Callable[[list[Word]], bool]


@dataclass
class WordSpeakers:
    """The speaker of each word, and which words are cross-talk picked up from another channel."""

    speakers: list[str]
    bleed: set[int] = field(default_factory=set)


def _overlap_by_label(annotation: Annotation, segment: Segment) -> dict[str, float]:
    totals: dict[str, float] = {}
    for turn, _, label in annotation.crop(segment, mode="intersection").itertracks(yield_label=True):
        totals[str(label)] = totals.get(str(label), 0.0) + turn.duration
    return totals


def _word_segment(word: Word) -> Segment:
    # Whisper gives some words zero length; give them a sliver so that they overlap something.
    return Segment(word.start, max(word.end, word.start + 0.02))


def _nearest(annotation: Annotation, segment: Segment, within: float) -> str | None:
    best, best_distance = None, within
    for turn, _, label in annotation.itertracks(yield_label=True):
        distance = max(turn.start - segment.end, segment.start - turn.end, 0.0)
        if distance <= best_distance:
            best, best_distance = str(label), distance
    return best


def assign_by_overlap(words: list[Word], exclusive: Annotation, annotation: Annotation,
                      settings: TurnSettings) -> list[str]:
    """Mono: each word to the speaker covering most of it (exclusive speech first, then any).

    A word said during overlapping speech could be either speaker's; between a word clearly said
    by one speaker and a later word clearly said by the other, the change of speaker is put at the
    longest pause (people pause before they take the floor, not in the middle of their words).
    """
    overlap = annotation.get_overlap()
    speakers: list[str | None] = []
    active: list[set[str]] = []
    for word in words:
        segment = _word_segment(word)
        during = _overlap_by_label(annotation, segment)
        covered = _overlap_by_label(exclusive, segment) or during
        if covered:
            speakers.append(max(covered, key=lambda label: covered[label]))
        else:
            speakers.append(_nearest(annotation, segment, settings.word_snap_seconds))
        in_overlap = overlap.crop(segment).duration() >= 0.5 * segment.duration
        active.append(set(during) if in_overlap and len(during) > 1 else set())
    filled = _fill_gaps(speakers, default=(sorted(map(str, annotation.labels())) or ["SPEAKER_00"])[0])
    _settle_overlap_words(words, filled, active)
    return filled


def _settle_overlap_words(words: list[Word], speakers: list[str], active: list[set[str]]) -> None:
    """Give each run of words said during overlap to the clear speakers before and after it."""
    order = sorted(range(len(words)), key=lambda i: (words[i].start, words[i].end))
    position = 0
    while position < len(order):
        if not active[order[position]]:
            position += 1
            continue
        end = position
        while end + 1 < len(order) and active[order[end + 1]]:
            end += 1
        if position > 0 and end + 1 < len(order):
            before, after = order[position - 1], order[end + 1]
            run = order[position: end + 1]
            first, last = speakers[before], speakers[after]
            if all({first, last} <= active[i] for i in run):
                chain = [before, *run, after]
                gaps = [words[chain[k]].start - words[chain[k - 1]].end for k in range(1, len(chain))]
                change = 1 + max(range(len(gaps)), key=lambda k: gaps[k]) if first != last else len(chain)
                for k, index in enumerate(chain[1:-1], start=1):
                    speakers[index] = first if k < change else last
        position = end + 1


def _fill_gaps(speakers: list[str | None], default: str) -> list[str]:
    """A word far from any speech keeps the speaker of the word before it (or after, at the start)."""
    filled: list[str] = []
    for index, speaker in enumerate(speakers):
        if speaker is None:
            later = next((s for s in speakers[index + 1:] if s is not None), default)
            speaker = filled[-1] if filled else later
        filled.append(speaker)
    return filled


def assign_by_channel(words: list[Word], annotation: Annotation, speaker_channels: dict[str, int]) -> WordSpeakers:
    """Stereo: each word to its channel's party; a word heard only as bleed of another channel is marked."""
    label_of = {channel: label for label, channel in speaker_channels.items()}
    speakers: list[str] = []
    bleed: set[int] = set()
    for index, word in enumerate(words):
        own = label_of.get(word.channel, f"channel_{word.channel}")
        speakers.append(own)
        covered = _overlap_by_label(annotation, _word_segment(word))
        others = {label: d for label, d in covered.items() if label != own}
        if others and covered.get(own, 0.0) == 0.0:
            bleed.add(index)
    return WordSpeakers(speakers=speakers, bleed=bleed)


def _text(words: list[Word]) -> str:
    joined = ""
    for word in words:
        piece = word.text.strip()
        if joined and not (_is_cjk_char(joined[-1]) and _is_cjk_char(piece[:1])):
            joined += " "
        joined += piece
    return joined


def _is_cjk_char(char: str) -> bool:
    return bool(char) and ("\u3400" <= char <= "\u9fff" or "\u3000" <= char <= "\u303f" or "\uff00" <= char <= "\uffef")


def build_turns(words: list[Word], speakers: list[str], settings: TurnSettings, is_backchannel: BackchannelTest,
                skip: set[int] | None = None, channels: dict[str, int] | None = None) -> list[Turn]:
    """Turns in order of their start; ``skip`` holds indices of words that belong to no turn (bleed)."""
    skip = skip or set()
    order = sorted((i for i in range(len(words)) if i not in skip), key=lambda i: (words[i].start, words[i].end))
    by_speaker: dict[str, list[int]] = {}
    for index in order:
        by_speaker.setdefault(speakers[index], []).append(index)

    turns: list[Turn] = []
    for speaker, indices in by_speaker.items():
        others = [i for i in order if speakers[i] != speaker]  # sorted by start
        other_starts = [words[i].start for i in others]
        run: list[int] = [indices[0]]
        for previous, current in itertools.pairwise(indices):
            gap_start, gap_end = words[previous].end, words[current].start
            if gap_end - gap_start >= settings.pause_split_seconds or _floor_taken(
                    words, others, other_starts, gap_start, gap_end, is_backchannel):
                turns.append(_turn(words, run, speaker, channels))
                run = []
            run.append(current)
        turns.append(_turn(words, run, speaker, channels))
    return sorted(turns, key=lambda t: (t.start, t.end))


def _floor_taken(words: list[Word], others: list[int], other_starts: list[float], gap_start: float,
                 gap_end: float, is_backchannel: BackchannelTest) -> bool:
    """Whether another speaker said something other than a backchannel within this gap."""
    tolerance = 0.05
    first = bisect.bisect_left(other_starts, gap_start - tolerance)
    last = bisect.bisect_right(other_starts, gap_end + tolerance)
    inside = [words[i] for i in others[first:last] if words[i].end <= gap_end + tolerance]
    return bool(inside) and not is_backchannel(inside)


def _turn(words: list[Word], indices: list[int], speaker: str, channels: dict[str, int] | None) -> Turn:
    chosen = [words[i] for i in indices]
    return Turn(speaker=speaker, start=chosen[0].start, end=max(w.end for w in chosen), text=_text(chosen),
                channel=(channels or {}).get(speaker), word_indices=list(indices))
