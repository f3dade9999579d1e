"""Numbers however the ASR wrote them: "4532 1122", "4532-1122", "four five three two", "double four",
"forty five", "四五三二", "幺三八" — all become one run of digits that remembers which token gave each digit.

Only digit-by-digit and two-digit-group readings are joined into runs (that is how people read out card,
phone and ID numbers); a time ("8:30"), an amount ("$45", "45.99") or an ordinal ("5th") is not a digit
token, so it never joins a run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.redact.tokens import Token

UNITS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
         "eight": "8", "nine": "9"}
TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
         "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19"}
TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7", "eighty": "8",
        "ninety": "9"}
ZH_DIGITS = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
             "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
ZEROS_AFTER = {"hundred": "00", "thousand": "000"}
REPEAT = {"double": 2, "triple": 3}
ZERO_LETTERS = {"oh", "o"}           # a zero only between digits: "four oh two"
# The resident ID's check character X, as written or heard ("叉" and its homophones), only after a long run.
CHECK_LETTERS = {"x", "ex", "叉", "差", "插", "岔"}
CHECK_AFTER_DIGITS = 14
FILLERS = {"-", "–", "dash", "hyphen", "uh", "um", "er", "erm", "嗯", "呃"}
MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
          "dec"}
ORDINALS = {"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
            "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
            "eighteenth", "nineteenth", "twentieth", "thirtieth"}
ZH_DATE_CHARS = set("年月日号十") | set(ZH_DIGITS)
# A number followed by one of these is a date, time, amount or quantity, not an identifier ("二零二三年").
MEASURE_WORDS = {"年", "月", "日", "号", "点", "元", "块", "岁", "个", "分", "秒", "次", "天", "百", "千", "万",
                 "dollars", "dollar", "bucks", "pounds", "euros", "yuan", "cents", "percent", "years", "year",
                 "months", "days", "minutes", "hours", "o'clock", "am", "pm", "a.m.", "p.m."}

_PUNCT = "\"'“”‘’.,!?;:()[]{}，。！？；：、…"
_WRITTEN_DIGITS = re.compile(r"\+?\d+(?:[-,/ ]\d+)*")
_WRITTEN_ID = re.compile(r"\d{17}[xX]")  # a resident ID written whole, with its check character X
_WRITTEN_DATE = re.compile(r"\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?")
_ORDINAL_WRITTEN = re.compile(r"\d{1,2}(?:st|nd|rd|th)")


def norm(text: str) -> str:
    """A token as compared: lower case, without the punctuation around it."""
    return text.strip(_PUNCT).lower()


def digits_of(text: str) -> str | None:
    """The digits a single token stands for, or None when it is not a digit token."""
    word = norm(text)
    if word in UNITS:
        return UNITS[word]
    if word in TEENS:
        return TEENS[word]
    if word in ZH_DIGITS:
        return ZH_DIGITS[word]
    if _WRITTEN_ID.fullmatch(word):
        return word.upper()
    if word and _WRITTEN_DIGITS.fullmatch(word):
        return re.sub(r"\D", "", word)
    if len(word) > 1 and all(c in ZH_DIGITS for c in word):
        return "".join(ZH_DIGITS[c] for c in word)
    return None


@dataclass
class DigitRun:
    """Digits said one after another on one channel; ``owners[i]`` is the token that gave ``digits[i]``."""

    digits: str = ""
    owners: list[int] = field(default_factory=list)

    def add(self, digits: str, owner: int) -> None:
        self.digits += digits
        self.owners.extend([owner] * len(digits))


def _next_significant(tokens: list[Token], i: int) -> int | None:
    j = i + 1
    while j < len(tokens) and norm(tokens[j].text) in FILLERS:
        j += 1
    return j if j < len(tokens) else None


def digit_runs(tokens: list[Token], max_gap_s: float) -> list[DigitRun]:
    """Every run of digits in ``tokens`` (one channel, in time order), however they were written or spoken."""
    runs: list[DigitRun] = []
    run = DigitRun()
    last_end: float | None = None

    def close() -> None:
        nonlocal run
        if run.digits:
            runs.append(run)
        run = DigitRun()

    i = 0
    while i < len(tokens):
        token = tokens[i]
        word = norm(token.text)
        if run.digits and last_end is not None and token.start - last_end > max_gap_s:
            close()
        following = _next_significant(tokens, i)
        next_digits = digits_of(tokens[following].text) if following is not None else None
        if word in TENS:
            unit = norm(tokens[i + 1].text) if i + 1 < len(tokens) else ""
            if unit in UNITS and unit != "zero":
                run.add(TENS[word] + UNITS[unit], i)
                run.owners[-1] = i + 1
                i += 2
                last_end = tokens[i - 1].end
                continue
            run.add(TENS[word] + "0", i)
        elif word in REPEAT and next_digits is not None and len(next_digits) == 1 and following is not None:
            run.add(next_digits * REPEAT[word], i)
            run.owners[-1] = following
            i = following + 1
            last_end = tokens[following].end
            continue
        elif word in ZEROS_AFTER and run.digits:
            run.add(ZEROS_AFTER[word], i)
        elif word in ZERO_LETTERS and (run.digits or next_digits is not None):
            run.add("0", i)
        elif word in CHECK_LETTERS and len(run.digits) >= CHECK_AFTER_DIGITS and not run.digits.endswith("X"):
            run.add("X", i)
        elif word in FILLERS and run.digits:
            pass
        elif (value := digits_of(token.text)) is not None:
            run.add(value, i)
        else:
            close()
            i += 1
            continue
        last_end = token.end
        i += 1
    close()
    return runs


def is_month(word: str) -> bool:
    return norm(word) in MONTHS


def is_date_word(text: str) -> bool:
    """A token that can be part of a spoken or written date ("the fifth of May, nineteen eighty", "1980年5月5日")."""
    word = norm(text)
    if not word:
        return False
    return (word in MONTHS or word in ORDINALS or word in UNITS or word in TEENS or word in TENS
            or word in ZEROS_AFTER or digits_of(word) is not None or bool(_WRITTEN_DATE.fullmatch(word))
            or bool(_ORDINAL_WRITTEN.fullmatch(word)) or all(c in ZH_DATE_CHARS for c in word)
            or all(part in TENS or part in ORDINALS or part in UNITS for part in word.split("-")))


def is_date_joiner(text: str) -> bool:
    return norm(text) in {"the", "of", "and", "in", "-", "/"} or text.strip() in {",", "，"}


def dates_year_or_month(words: list[str]) -> bool:
    """Whether a span of date words names a month or a year: a lone "eight" or "the fifth" is no date."""
    normal = [norm(w) for w in words]
    return (any(w in MONTHS for w in normal) or any(c in "年月" for w in normal for c in w)
            or any(_WRITTEN_DATE.fullmatch(w) for w in normal)
            or any(len(d) >= 4 for w in normal if (d := digits_of(w)) is not None)
            or (any(w in TEENS or w in TENS for w in normal) and len(normal) >= 2))
