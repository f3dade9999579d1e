"""Phrase lists per language and a tolerant matcher that finds them in a call's turns.

ASR text is not what was said: case and punctuation vary, Mandarin may come out in traditional
characters, numbers come as digits or words, and a word or two is misheard. So both the phrase and
the turn text go through the same normalisation (NFKC, case, apostrophes, punctuation, simplified
Chinese, numbers as digits), exact matches are found first, and only phrases long enough to be
unambiguous are also matched fuzzily (rapidfuzz ``partial_ratio``), snapped to whole tokens.

A speaker's sentence is often cut into two turns by a pause or by the other party's "mm-hm", so a
phrase may run across two of the same role's turns when they are at most ``join_gap_seconds`` apart.

Every hit keeps the times of the tokens it covers: with word timestamps those are the words' own,
otherwise they are spread over the turn in proportion to their length. That is the evidence's time.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz
from rapidfuzz.process import cdist

from engine.asr import to_simplified
from engine.config import CONFIG_DIR, ConfigError, load_yaml_model
from engine.record import CallAnalysis, Evidence, Turn

PHRASE_DIR = CONFIG_DIR / "phrases"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ZH_NUMERALS = "零〇一二两三四五六七八九十百千万"
_ZH_TOKEN = re.compile(rf"[{_ZH_NUMERALS}]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[0-9a-z]+")
_EN_TOKEN = re.compile(r"[0-9a-z]+")
_APOSTROPHES = re.compile(r"['’‘`´]")

_EN_UNITS = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"))}
_EN_TENS = {w: 10 * (i + 2) for i, w in enumerate(
    ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"))}
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_ZH_POWERS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def _zh_number(run: str) -> str:
    """Chinese numerals as digits: 十二 -> 12, 一百零五 -> 105, 二零二四 (digit by digit) -> 2024."""
    if not any(ch in _ZH_POWERS for ch in run):
        return "".join(str(_ZH_DIGITS[ch]) for ch in run)
    total, section, digit = 0, 0, None
    for ch in run:
        if ch in _ZH_DIGITS:
            digit = _ZH_DIGITS[ch]
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
        else:
            section += (1 if digit is None else digit) * _ZH_POWERS[ch]
            digit = None
    return str(total + section + (digit or 0))


def _clean(text: str, language: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("", text)
    return to_simplified(text) if language == "zh" else text


def _en_numbers(words: list[str]) -> list[str]:
    """Number words as digits, so "press one" matches "press 1" and "twenty one" matches "21"."""
    out: list[str] = []
    for word in words:
        if word in _EN_UNITS:
            value = _EN_UNITS[word]
            if out and out[-1].isdigit() and out[-1].endswith("0") and len(out[-1]) == 2 and 0 < value < 10:
                out[-1] = str(int(out[-1]) + value)
                continue
            out.append(str(value))
        elif word in _EN_TENS:
            out.append(str(_EN_TENS[word]))
        else:
            out.append(word)
    return out


def normalise(text: str, language: str) -> str:
    """The form both phrases and turn text are compared in."""
    return _join([norm for norm, _ in _tokens(text, language)], language)


def _tokens(text: str, language: str) -> list[tuple[str, str]]:
    """(normalised, original) tokens of ``text``; the original keeps what a QA lead reads as evidence."""
    out: list[tuple[str, str]] = []
    if language == "zh":
        cleaned = _clean(text, language)
        aligned = len(cleaned) == len(text)  # then the original characters can be quoted as evidence
        for match in _ZH_TOKEN.finditer(cleaned):
            token = match.group()
            norm = _zh_number(token) if token[0] in _ZH_NUMERALS else token
            out.append((norm, text[match.start():match.end()] if aligned else token))
        return out
    cleaned = _clean(text, language).split()
    originals = text.split() if len(cleaned) == len(text.split()) else cleaned
    for original, clean in zip(originals, cleaned, strict=True):
        pieces = _EN_TOKEN.findall(clean)
        if not pieces:
            continue
        norm = " ".join(_en_numbers(pieces))
        tens = out[-1][0] if out else ""
        if norm.isdigit() and 0 < int(norm) < 10 and len(tens) == 2 and tens.endswith("0") and tens != "10":
            out[-1] = (str(int(tens) + int(norm)), f"{out[-1][1]} {original}")  # "twenty one" = "21"
        else:
            out.append((norm, original))
    return out


def _needs_space(before: str, after: str, language: str) -> bool:
    """Words are spaced; Mandarin characters are not (but Latin words and numbers among them are)."""
    return language != "zh" or not (_CJK.match(before) or _CJK.match(after))


def _join(norms: Sequence[str], language: str) -> str:
    text = ""
    for norm in norms:
        if text and _needs_space(text[-1], norm[0], language):
            text += " "
        text += norm
    return text


class FuzzySettings(BaseModel):
    """How forgiving matching is for one language (tuned on what the ASR gets wrong)."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(88.0, gt=50, le=100, description="rapidfuzz partial_ratio needed for a fuzzy hit")
    min_chars: int = Field(8, ge=1, description="shorter phrases must match exactly (short ones match anything)")
    list_thresholds: dict[str, float] = Field(
        default_factory=dict, description="stricter (or looser) thresholds for named lists, e.g. prohibited"
    )
    join_gap_seconds: float = Field(2.5, ge=0, description="a phrase may run across two turns this close together")


class PhraseBook(BaseModel):
    """Named phrase lists for one language (``configs/phrases/<name>.<language>.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    language: str
    fuzzy: FuzzySettings = FuzzySettings()
    lists: dict[str, list[str]]
    source: str = ""

    def phrases(self, key: str) -> tuple[str, ...]:
        """The normalised phrases of one list (a list that does not exist is a KeyError)."""
        return _normalised(self.language, tuple(self.lists[key]))

    def threshold(self, key: str) -> float:
        return self.fuzzy.list_thresholds.get(key, self.fuzzy.threshold)


@lru_cache(maxsize=512)
def _normalised(language: str, phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for p in (normalise(text, language) for text in phrases) if p))


@lru_cache(maxsize=32)
def _load_cached(path: Path, mtime: float) -> PhraseBook:
    return load_yaml_model(path, PhraseBook, "phrase file", "a mapping with language, fuzzy and lists",
                           source=str(path))


def load_phrasebook(name: str, language: str) -> PhraseBook:
    """``configs/phrases/<name>.<language>.yaml`` (or a path to such a file), validated."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else PHRASE_DIR / f"{name}.{language}.yaml"
    if not path.exists():
        raise ConfigError(f"{path}: phrase file not found (phrase set {name!r}, language {language!r})")
    book = _load_cached(path.resolve(), path.stat().st_mtime)
    if book.language != language:
        raise ConfigError(f"{path}: language: expected {language!r}, got {book.language!r}")
    return book


@dataclass(frozen=True)
class Token:
    norm: str
    text: str
    start: float
    end: float
    turn: int


@dataclass(frozen=True)
class PhraseHit:
    """One place a phrase list matched: which phrase, where, in which turns, how closely."""

    key: str
    phrase: str
    turns: tuple[int, ...]
    start: float
    end: float
    words: str
    score: float

    def evidence(self, speaker: str | None) -> Evidence:
        return Evidence(start=round(self.start, 3), end=round(self.end, 3), speaker=speaker, words=self.words)


@dataclass
class _Stream:
    """One role's turns as one normalised text, with each token's character span and time."""

    text: str
    tokens: list[Token]
    spans: list[tuple[int, int]]
    starts: list[int]
    units: list[tuple[int, int, tuple[int, ...]]]  # char span of a turn or an adjacent pair of turns


def _turn_tokens(index: int, turn: Turn, analysis: CallAnalysis, language: str) -> list[Token]:
    words = analysis.transcript.words if analysis.transcript else []
    timed = [words[i] for i in turn.word_indices if 0 <= i < len(words)]
    pieces = [(w.text, w.start, w.end) for w in timed] or [(turn.text, turn.start, turn.end)]
    out: list[Token] = []
    for text, start, end in pieces:
        tokens = _tokens(text, language)
        total = sum(len(t[1]) for t in tokens) or 1
        at = start
        for norm, original in tokens:
            step = (end - start) * len(original) / total
            out.append(Token(norm, original, at, at + step, index))
            at += step
    return out


class PhraseMatcher:
    """Finds phrase lists in one call's turns; results are cached, so checks and defects share them."""

    def __init__(self, analysis: CallAnalysis, book: PhraseBook) -> None:
        self.analysis = analysis
        self.book = book
        self.language = book.language
        self._streams: dict[str, _Stream] = {}
        self._cache: dict[tuple[str, str, float, float], list[PhraseHit]] = {}
        self._turn_tokens: dict[int, list[Token]] = {}

    def _stream(self, role: str) -> _Stream:
        if role in self._streams:
            return self._streams[role]
        turns = [(i, t) for i, t in enumerate(self.analysis.turns) if role == "any" or t.role == role]
        tokens: list[Token] = []
        for index, turn in turns:
            if index not in self._turn_tokens:
                self._turn_tokens[index] = _turn_tokens(index, turn, self.analysis, self.language)
            tokens.extend(self._turn_tokens[index])
        spans: list[tuple[int, int]] = []
        text = ""
        for token in tokens:
            if text and _needs_space(text[-1], token.norm[0], self.language):
                text += " "
            spans.append((len(text), len(text) + len(token.norm)))
            text += token.norm
        # Units for fuzzy matching: each turn, and each pair of the role's turns close enough to be one sentence.
        by_turn: dict[int, list[int]] = {}
        for k, token in enumerate(tokens):
            by_turn.setdefault(token.turn, []).append(k)
        order = [i for i, _ in turns if i in by_turn]
        units = [(spans[by_turn[i][0]][0], spans[by_turn[i][-1]][1], (i,)) for i in order]
        gap = self.book.fuzzy.join_gap_seconds
        for a, b in itertools.pairwise(order):
            if self.analysis.turns[b].start - self.analysis.turns[a].end <= gap:
                units.append((spans[by_turn[a][0]][0], spans[by_turn[b][-1]][1], (a, b)))
        stream = _Stream(text, tokens, spans, [s for s, _ in spans], units)
        self._streams[role] = stream
        return stream

    def find(self, key: str, role: str = "any", start: float = 0.0, end: float = float("inf"),
             extra: Iterable[str] = ()) -> list[PhraseHit]:
        """Every hit of list ``key`` (plus ``extra`` literal phrases) said by ``role`` between two times."""
        extra = tuple(extra)
        cache_key = (key + "|" + "|".join(extra), role, start, end)
        if cache_key in self._cache:
            return self._cache[cache_key]
        phrases = tuple(dict.fromkeys((*self.book.phrases(key), *_normalised(self.language, extra))))
        hits = [h for h in self._match(key, phrases, role) if h.start < end and h.end > start]
        self._cache[cache_key] = hits
        return hits

    def _match(self, key: str, phrases: tuple[str, ...], role: str) -> list[PhraseHit]:
        stream = self._stream(role)
        if not stream.tokens or not phrases:
            return []
        found: dict[tuple[int, int], PhraseHit] = {}
        spaced = self.language != "zh"
        padded = f" {stream.text} " if spaced else stream.text
        for phrase in sorted(phrases, key=len, reverse=True):  # the longest phrase is the best evidence
            needle = f" {phrase} " if spaced else phrase
            at = padded.find(needle)
            while at >= 0:
                self._add(found, key, phrase, stream, at, at + len(phrase), 100.0)
                at = padded.find(needle, at + 1)
        # Fuzzy: only long phrases, only units without an exact hit of that phrase, snapped to whole tokens.
        threshold = self.book.threshold(key)
        long_phrases = [p for p in sorted(phrases, key=len, reverse=True) if len(p) >= self.book.fuzzy.min_chars]
        if not long_phrases:
            return self._ordered(found)
        units = stream.units
        texts = [stream.text[a:b] for a, b, _ in units]
        scores = cdist(long_phrases, texts, scorer=fuzz.partial_ratio, score_cutoff=threshold, workers=1)
        for p_index, u_index in zip(*scores.nonzero(), strict=True):
            phrase = long_phrases[p_index]
            a = units[u_index][0]
            alignment = fuzz.partial_ratio_alignment(phrase, texts[u_index], score_cutoff=threshold)
            if alignment is None:
                continue
            first, last = self._token_range(stream, a + alignment.dest_start, a + alignment.dest_end)
            snapped = stream.text[stream.spans[first][0]:stream.spans[last][1]]
            score = fuzz.ratio(phrase, snapped)
            if score >= threshold:
                self._add(found, key, phrase, stream, stream.spans[first][0], stream.spans[last][1], score)
        return self._ordered(found)

    @staticmethod
    def _token_range(stream: _Stream, a: int, b: int) -> tuple[int, int]:
        first = max(0, bisect.bisect_right(stream.starts, a) - 1)
        if stream.spans[first][1] <= a:
            first += 1
        last = max(first, bisect.bisect_left(stream.starts, b) - 1)
        return first, last

    def _add(self, found: dict[tuple[int, int], PhraseHit], key: str, phrase: str, stream: _Stream,
             a: int, b: int, score: float) -> None:
        first, last = self._token_range(stream, a, b)
        tokens = stream.tokens[first:last + 1]
        turns = tuple(dict.fromkeys(t.turn for t in tokens))
        if len(turns) > 1:  # across turns: only when they are one sentence cut by a pause
            gap = self.book.fuzzy.join_gap_seconds
            all_turns = self.analysis.turns
            if len(turns) > 2 or all_turns[turns[1]].start - all_turns[turns[0]].end > gap:
                return
        if any(not (last < h_first or first > h_last) for h_first, h_last in found):
            return
        joiner = "" if self.language == "zh" else " "
        found[(first, last)] = PhraseHit(key, phrase, turns, tokens[0].start, tokens[-1].end,
                                         joiner.join(t.text for t in tokens), score)

    @staticmethod
    def _ordered(found: dict[tuple[int, int], PhraseHit]) -> list[PhraseHit]:
        return sorted(found.values(), key=lambda h: h.start)


def count_units(text: str, language: str) -> int:
    """Words (Mandarin: characters) in a text, for rates and per-100-word counts."""
    if language == "zh":
        return len(_CJK.findall(text)) + len(_EN_TOKEN.findall(_clean(_CJK.sub(" ", text), "en")))
    return len(text.split())
