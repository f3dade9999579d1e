"""Whisper's failure modes, judged on the decoded words rather than by throwing whole windows away.

- A **loop** ("I'm sorry, I'm sorry, …", "新的新的…") is a run of the same few words to the end of the
  window: the run's repeats are cut and the words before it kept.
- **Invented text** after the speech ends (a short clip followed by silence or line noise comes back
  with an extra made-up sentence) is made of words the VAD heard no voice under.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol

from engine.asr.windows import Span, overlap


class TimedWord(Protocol):
    word: str
    start: float
    end: float
    probability: float


_HAN = re.compile(r"[\u3400-\u9fff]")


def _units(words: Sequence[TimedWord]) -> list[tuple[str, int]]:
    """What repeats: lower-cased words without punctuation; Han text character by character (the
    tokenizer cuts the same characters into different words from one repeat to the next)."""
    units: list[tuple[str, int]] = []
    for index, word in enumerate(words):
        text = "".join(c for c in word.word.lower() if not unicodedata.category(c).startswith(("P", "Z")))
        if _HAN.search(text):
            units.extend((char, index) for char in text)
        elif text:
            units.append((text, index))
    return units


def repeated_tail(words: Sequence[TimedWord], min_repeats: int = 3, max_period: int = 12) -> int | None:
    """Index of the first word to cut when the words end in ``min_repeats`` or more repeats of the same
    run of at most ``max_period`` units (the first repeat is kept); ``None`` when they do not.

    A loop cut short by the token budget ends in a partial repeat; that counts as part of the loop.
    """
    units = _units(words)
    n = len(units)
    best: int | None = None
    for period in range(1, min(max_period, n // min_repeats) + 1):
        # Walk back from the end while each unit equals the one a period later: units[start:] is periodic.
        start = n - period
        while start > 0 and units[start - 1][0] == units[start - 1 + period][0]:
            start -= 1
        if n - start < min_repeats * period:
            continue
        cut_unit = start + period  # the first repeat stays
        if best is None or cut_unit < best:
            best = cut_unit
    if best is None:
        return None
    cut_word = units[best][1]
    # A word straddling the cut (a Han word "的新") holds the end of the first repeat: it stays.
    if best > 0 and units[best - 1][1] == cut_word:
        cut_word += 1
    return cut_word if cut_word < len(words) else None


def heard(word: TimedWord, speech: list[Span], tolerance: float, min_fraction: float) -> bool:
    """Whether the VAD heard voice under at least ``min_fraction`` of the word (its stretches widened by
    ``tolerance`` s: word timings come from attention and can be a little off at a turn's edges)."""
    widened = [(s - tolerance, e + tolerance) for s, e in speech]
    duration = word.end - word.start
    if duration <= 0:
        return any(s <= word.start <= e for s, e in widened)
    return overlap((word.start, word.end), widened) >= min_fraction * duration
