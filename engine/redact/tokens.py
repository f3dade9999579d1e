"""Text as tokens with times: the transcript's words, or any string the engine wrote from them.

Detection runs on one token stream whichever it came from. A Mandarin word ("四五三二", "号是") is split
into its characters, so a digit inside a longer ASR token is still a digit; every token remembers the
unit (a word of the transcript, or a stretch of a string) it came from, which is what gets masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.record import Word

# One CJK character is a token; so is each run of anything else between spaces and CJK punctuation.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}\u3000-\u303f\uff01-\uff0f\uff1a-\uff1f]+")
# A string's tokens have no times; this is the time a token stands for, so windows in seconds still apply.
TEXT_TOKEN_SECONDS = 0.4


@dataclass(frozen=True)
class Token:
    text: str
    start: float
    end: float
    channel: int | None
    unit: int
    """the word index (in the transcript) or the string stretch index this token came from"""
    role: str = "unknown"


def split(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def word_tokens(words: list[Word], indices: list[int], roles: dict[int, str]) -> list[Token]:
    """The tokens of the transcript words ``indices`` (one channel, in time order); ``roles`` by word index."""
    tokens: list[Token] = []
    for index in indices:
        word = words[index]
        parts = split(word.text)
        step = (word.end - word.start) / max(1, len(parts))
        role = roles.get(index, "unknown")
        for n, part in enumerate(parts):
            tokens.append(Token(part.group(), word.start + n * step, word.start + (n + 1) * step,
                                word.channel, index, role))
    return tokens


def text_tokens(text: str) -> tuple[list[Token], list[tuple[int, int]]]:
    """The tokens of a string, and the character range of each (its ``unit``)."""
    tokens: list[Token] = []
    spans: list[tuple[int, int]] = []
    for n, match in enumerate(split(text)):
        tokens.append(Token(match.group(), n * TEXT_TOKEN_SECONDS, (n + 1) * TEXT_TOKEN_SECONDS, None, n))
        spans.append(match.span())
    return tokens, spans
