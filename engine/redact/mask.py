"""Masking: the transcript's words replaced by typed tags, then every other string of the analysis.

The words are where entities are found (they carry times and channels). Every other string the engine
wrote — segments, turns, evidence, explanations, event details, signals — was made from those words, so it
is masked twice over: by the same detection run on the string itself, and by the values already found in
the words (digits and word sequences), so a snippet that holds only part of a card number, or an answer
whose cue was in the other speaker's turn, is masked all the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from engine.record import Word
from engine.redact.detect import Detector, Found
from engine.redact.spoken import digit_runs
from engine.redact.tokens import Token, text_tokens

# Fields that name things rather than say them (identifiers, labels, paths): never masked.
KEEP_FIELDS = {"schema_version", "call_id", "source", "content_hash", "config_hash", "metadata", "codec", "container",
               "kind", "item_id", "section", "standard_id", "standard_version", "speaker", "role", "model",
               "language", "label", "verdict", "stage", "severity", "entity", "audio", "redaction"}
# A known value's digits are masked inside a string when at least this many of them appear together.
MIN_KNOWN_DIGITS = 4


def tag(name: str) -> str:
    return f"[{name}]"


@dataclass(frozen=True)
class KnownValue:
    """What one found entity looked like, kept in memory only while the analysis is masked."""

    tag: str
    digits: str
    words: tuple[str, ...]


def known_values(found: list[Found], tokens: list[Token]) -> list[KnownValue]:
    return [KnownValue(f.tag, f.digits, tuple(w for i in f.tokens if (w := tokens[i].text.strip(_EDGES))))
            for f in found]


_EDGES = " \"'“”‘’.,!?;:()，。！？；：、"


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """The words as written in any string: any spacing or punctuation between them, any case."""
    return re.compile(r"[\s,.;:，。、]*".join(re.escape(w) for w in words), re.IGNORECASE)


class TextMasker:
    """Masks any string: entities the detector finds in it, and the values found in the call's words."""

    def __init__(self, detector: Detector, known: list[KnownValue], max_digit_gap_s: float) -> None:
        self.detector = detector
        self.known = [k for k in known if k.digits or k.words]
        # Word values (an address, a date, a name) found wherever they are written; a short number's words
        # ("731") only through its digits, so "731" in another sense is not masked for it.
        self._patterns = [(k, _pattern(k.words)) for k in self.known
                          if k.words and not (k.digits and len(k.digits) < MIN_KNOWN_DIGITS)]
        self.max_digit_gap_s = max_digit_gap_s
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if text not in self._cache:
            self._cache[text] = self._mask(text)
        return self._cache[text]

    def _mask(self, text: str) -> str:
        tokens, spans = text_tokens(text)
        if not tokens:
            return text
        tags: dict[int, str] = {}
        for found in self.detector.find({None: tokens})[None]:
            for i in found.tokens:
                tags.setdefault(i, found.tag)
        for run in digit_runs(tokens, self.max_digit_gap_s):
            for value in self.known:
                if value.digits and (run.digits == value.digits or
                                     (len(run.digits) >= MIN_KNOWN_DIGITS and run.digits in value.digits)):
                    for i in run.owners:
                        tags.setdefault(i, value.tag)
        for value, pattern in self._patterns:
            for match in pattern.finditer(text):
                for i, (start, end) in enumerate(spans):
                    if start < match.end() and end > match.start():
                        tags.setdefault(i, value.tag)
        return replace_spans(text, [(spans[i], tags[i]) for i in sorted(tags)])


def replace_spans(text: str, spans: list[tuple[tuple[int, int], str]]) -> str:
    """``text`` with each character span replaced by its tag; neighbouring spans of one tag become one tag."""
    out: list[str] = []
    cursor = 0
    last_tag: str | None = None
    for (start, end), name in spans:
        between = text[cursor:start]
        if last_tag == name and not between.strip(" ,.-–—，、"):
            cursor = end
            continue
        out.append(between)
        out.append(tag(name))
        cursor, last_tag = end, name
    out.append(text[cursor:])
    return "".join(out)


def mask_words(words: list[Word], masked: dict[int, str]) -> None:
    """Each masked word's text becomes its tag (leading space kept, so words still join as before)."""
    for index, name in masked.items():
        word = words[index]
        lead = word.text[: len(word.text) - len(word.text.lstrip())]
        words[index] = word.model_copy(update={"text": lead + tag(name)})


def mask_strings(record: BaseModel, mask: Callable[[str], str]) -> None:
    """Every string field of ``record`` and below (not the transcript's words, not ``KEEP_FIELDS``), in place."""
    for name in type(record).model_fields:
        if name in KEEP_FIELDS:
            continue
        value = getattr(record, name)
        masked = _masked(value, mask)
        if masked is not value:
            setattr(record, name, masked)


def _masked(value: object, mask: Callable[[str], str]) -> object:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Word):
        return value
    if isinstance(value, BaseModel):
        mask_strings(value, mask)
        return value
    if isinstance(value, list):
        return [_masked(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v, mask) for k, v in value.items()}
    return value
