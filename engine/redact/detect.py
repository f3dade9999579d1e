"""Find entities in token streams (one per channel): which tokens are a card, a phone number, a date of birth …

Digits are read into runs first (``spoken.digit_runs``); each rule then claims the digits it recognises, in
the rules' order, so one digit belongs to at most one entity. Cue words are looked for on every channel:
the agent asks "what is your account number?" and the customer answers on the other channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from engine.redact.checksums import cn_resident_id_valid, luhn_valid
from engine.redact.config import EntityRule
from engine.redact.spoken import (
    MEASURE_WORDS,
    DigitRun,
    dates_year_or_month,
    digit_runs,
    is_date_joiner,
    is_date_word,
    norm,
)
from engine.redact.tokens import Token, split

CARD_LENGTHS = (16, 15, 19, 18, 17, 14, 13)
AFTER_CARD_DIGITS = range(3, 9)  # an expiry (4) and a security code (3-4) said straight after the number
EMAIL_WRITTEN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DOMAIN_WRITTEN = re.compile(r"[\w-]+(?:\.[\w-]+)+")
EMAIL_AT = {"at", "@", "艾特"}
EMAIL_DOT = {"dot", "点", "period"}
EMAIL_JOIN = EMAIL_DOT | {"underscore", "dash", "hyphen"}
TOP_LEVEL_DOMAINS = {"com", "net", "org", "edu", "gov", "io", "cn", "uk", "us", "co", "info", "biz", "de", "me"}


@dataclass(frozen=True)
class Found:
    """One entity: its type, and the tokens (of one stream) that said it."""

    entity: str
    tag: str
    channel: int | None
    tokens: tuple[int, ...]
    digits: str = ""


@dataclass
class _Run:
    channel: int | None
    run: DigitRun
    claimed: list[bool]

    def stretches(self) -> list[tuple[int, int]]:
        """The unclaimed parts of the run, as [start, end) digit positions."""
        out: list[tuple[int, int]] = []
        start = None
        for i, taken in enumerate([*self.claimed, True]):
            if not taken and start is None:
                start = i
            elif taken and start is not None:
                out.append((start, i))
                start = None
        return out


@dataclass(frozen=True)
class _Cue:
    rule: str
    channel: int | None
    start: float
    end: float
    last_token: int


def _said_forms(number: phonenumbers.PhoneNumber) -> set[str]:
    """The digits a person says for ``number``: national form (with its trunk 0 where the country has one)
    or international with the country code. The parser also accepts a national number without its trunk
    prefix ("1234567890" as a London-style number): nobody says that, and it is how order numbers look."""
    forms = (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.E164)
    return {re.sub(r"\D", "", phonenumbers.format_number(number, form)) for form in forms}


class Detector:
    """The enabled rules, ready to run on token streams."""

    def __init__(self, rules: dict[str, EntityRule], names: list[str], max_digit_gap_s: float) -> None:
        self.rules = {name: rule for name, rule in rules.items() if rule.enabled}
        self.names = [[norm(m.group()) for m in split(name)] for name in names if name.strip()]
        self.max_digit_gap_s = max_digit_gap_s
        self._patterns = {name: re.compile(rule.pattern) for name, rule in self.rules.items() if rule.pattern}
        self._cues = {name: [[norm(m.group()) for m in split(cue)] for cue in rule.cues]
                      for name, rule in self.rules.items()}

    def find(self, streams: dict[int | None, list[Token]]) -> dict[int | None, list[Found]]:
        """Every entity in ``streams`` (channel -> its tokens in time order), per channel."""
        found: dict[int | None, list[Found]] = {channel: [] for channel in streams}
        cues = [cue for channel, tokens in streams.items() for cue in self._cue_hits(channel, tokens)]
        runs = [_Run(channel, run, [False] * len(run.digits))
                for channel, tokens in streams.items() for run in digit_runs(tokens, self.max_digit_gap_s)]
        cards: list[tuple[_Run, int, float]] = []  # run, end digit, end time: for expiry and security codes
        for name, rule in self.rules.items():
            if rule.kind == "cn_resident_id":
                self._checked(name, rule, runs, streams, found, lambda s: len(s) == 18 and cn_resident_id_valid(s),
                              (18,))
            elif rule.kind == "card":
                # Luhn first; then, after "card number", a run the ASR got a digit wrong in (no Luhn).
                hits = self._checked(name, rule, runs, streams, found, luhn_valid, CARD_LENGTHS, prefix_only=True)
                hits += self._cued_numbers(name, rule, cues, runs, streams, found) if rule.cues else []
                cards += [(run, end, streams[run.channel][run.run.owners[end - 1]].end) for run, end in hits]
            elif rule.kind == "phone":
                self._phones(name, rule, runs, streams, found)
            elif rule.kind in ("card_expiry", "card_security_code"):
                self._after_card(name, rule, cards, cues, runs, streams, found)
            elif rule.kind == "cued_number":
                self._cued_numbers(name, rule, cues, runs, streams, found)
        for name, rule in self.rules.items():
            for channel, tokens in streams.items():
                taken = {i for f in found[channel] for i in f.tokens}
                if rule.kind == "email":
                    found[channel] += self._emails(name, rule, channel, tokens, taken)
                    taken = {i for f in found[channel] for i in f.tokens}
                    found[channel] += self._glued_emails(name, rule, channel, tokens, cues, taken)
                elif rule.kind == "pattern":
                    found[channel] += [Found(name, rule.tag, channel, (i,)) for i, t in enumerate(tokens)
                                       if i not in taken and self._patterns[name].fullmatch(norm(t.text))]
                elif rule.kind == "cued_date":
                    found[channel] += self._cued_dates(name, rule, channel, tokens, cues, taken)
                elif rule.kind == "cued_name":
                    found[channel] += self._cued_names(name, rule, channel, tokens, cues, taken)
        for channel, tokens in streams.items():
            found[channel] += self._named(channel, tokens, {i for f in found[channel] for i in f.tokens})
        return found

    # ---- cues ----

    def _cue_hits(self, channel: int | None, tokens: list[Token]) -> list[_Cue]:
        words = [norm(t.text) for t in tokens]
        hits: list[_Cue] = []
        for name, phrases in self._cues.items():
            for phrase in phrases:
                n = len(phrase)
                for i in range(len(words) - n + 1):
                    if words[i:i + n] == phrase:
                        hits.append(_Cue(name, channel, tokens[i].start, tokens[i + n - 1].end, i + n - 1))
        return hits

    @staticmethod
    def _latest_cue(cues: list[_Cue], rules: set[str], at: float, since: float, slack: float = 0.05) -> _Cue | None:
        before = [c for c in cues if c.rule in rules and since - slack <= c.end <= at + slack]
        return max(before, key=lambda c: c.end, default=None)

    # ---- digit entities ----

    def _claim(self, name: str, rule: EntityRule, run: _Run, start: int, end: int,
               found: dict[int | None, list[Found]]) -> None:
        for i in range(start, end):
            run.claimed[i] = True
        owners = tuple(dict.fromkeys(run.run.owners[start:end]))
        found[run.channel].append(Found(name, rule.tag, run.channel, owners, run.run.digits[start:end]))

    def _allowed(self, rule: EntityRule, run: _Run, streams: dict[int | None, list[Token]], start: int) -> bool:
        return rule.roles is None or streams[run.channel][run.run.owners[start]].role in rule.roles

    def _checked(self, name, rule, runs, streams, found, valid, lengths, prefix_only: bool = False
                 ) -> list[tuple[_Run, int]]:
        """Claim every window of the given lengths that passes ``valid`` (a checksum).

        ``prefix_only`` (cards): the window starts the stretch and leaves nothing or an expiry and security
        code (3-8 digits) after it: the Luhn sum passes for one window in ten, so windows anywhere inside a
        long run would find "cards" in any long number."""
        hits: list[tuple[_Run, int]] = []
        for run in runs:
            for first, last in run.stretches():
                position = first
                while position < last:
                    match = next((n for n in lengths if position + n <= last
                                  and (not prefix_only or last - position - n in (0, *AFTER_CARD_DIGITS))
                                  and valid(run.run.digits[position:position + n])), None)
                    if prefix_only and not match:
                        break
                    if match and self._allowed(rule, run, streams, position):
                        self._claim(name, rule, run, position, position + match, found)
                        hits.append((run, position + match))
                        position += match
                    else:
                        position += 1
        return hits

    def _phones(self, name, rule, runs, streams, found) -> None:
        for run in runs:
            for first, last in run.stretches():
                digits = run.run.digits[first:last]
                window = self._phone_window(digits, rule)
                if window and self._allowed(rule, run, streams, first + window[0]):
                    self._claim(name, rule, run, first + window[0], first + window[1], found)

    @staticmethod
    def _phone_window(digits: str, rule: EntityRule) -> tuple[int, int] | None:
        """The whole stretch, if phonenumbers holds it a valid number of one of the regions (national, or
        international with its country code: "86 138 …"). Never a window inside a longer run: a phone
        number is said on its own, and inside a long run any ten digits may look like one."""
        if "X" in digits or not rule.min_digits <= len(digits) <= rule.max_digits:
            return None
        for text in (digits, "+" + digits):
            for region in rule.regions:
                try:
                    number = phonenumbers.parse(text, region)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(number) and digits in _said_forms(number):
                    return 0, len(digits)
        return None

    def _after_card(self, name, rule, cards, cues, runs, streams, found) -> None:
        """Expiry and security code: short digit runs on the card's channel soon after it."""
        expiry = rule.kind == "card_expiry"
        other_kind = "card_security_code" if expiry else "card_expiry"
        other = {n for n, r in self.rules.items() if r.kind == other_kind}
        for card_run, card_end, card_time in cards:
            claimed = False  # one expiry and one security code per card
            for run in runs:
                if claimed:
                    break
                if run.channel != card_run.channel:
                    continue
                for first, last in run.stretches():
                    if run is card_run and first < card_end:
                        continue
                    tokens = streams[run.channel]
                    at = tokens[run.run.owners[first]].start
                    if not card_time - 0.05 <= at <= card_time + rule.window_s:
                        continue
                    cued, blocked = self._cue_decides(cues, name, other, run.channel, at, card_time)
                    if blocked:
                        continue
                    if not cued and at > card_time + rule.uncued_window_s:
                        continue
                    window = self._expiry_window(run.run.digits, first, last, cued) if expiry else \
                        self._code_window(first, last, rule)
                    if window:
                        self._claim(name, rule, run, *window, found)
                        claimed = True
                        break

    def _cue_decides(self, cues: list[_Cue], mine: str, other: set[str], channel: int | None, at: float,
                     since: float) -> tuple[bool, bool]:
        """(cued, blocked) for a stretch after a card: the speaker's own last cue decides ("the code is …");
        without one, a question that named this type ("expiry date and security code?") is a cue for it."""
        card_types = {mine} | other
        latest = self._latest_cue(cues, set(self.rules), at, since)
        if latest is not None and latest.rule not in card_types:
            return False, True  # "… and I was born on nineteen eighty": another type was announced since
        own = [c for c in cues if c.channel == channel]
        mine_own = self._latest_cue(own, {mine}, at, since)
        theirs_own = self._latest_cue(own, other, at, since)
        if mine_own or theirs_own:
            cued = mine_own is not None and (theirs_own is None or mine_own.end >= theirs_own.end)
            return cued, not cued
        return self._latest_cue(cues, {mine}, at, since) is not None, False

    @staticmethod
    def _expiry_window(digits: str, first: int, last: int, cued: bool) -> tuple[int, int] | None:
        """MMYY or MMYYYY at the start of the stretch (a month that exists); MYY ("eight twenty seven") if cued."""
        for length in (4, 6, 3) if cued else (4, 6):
            if first + length <= last:
                month = digits[first:first + (1 if length == 3 else 2)]
                if month.isdigit() and 1 <= int(month) <= 12:
                    return first, first + length
        return None

    @staticmethod
    def _code_window(first: int, last: int, rule: EntityRule) -> tuple[int, int] | None:
        return (first, last) if rule.min_digits <= last - first <= rule.max_digits else None

    def _cued_numbers(self, name, rule, cues, runs, streams, found) -> list[tuple[_Run, int]]:
        """A run said after this rule's cue, when no other type's cue came later: the nearest cue wins
        ("ID number?" … "and your phone?" … the second run is not an ID). A cued type whose length the run
        does not have does not compete for it."""
        hits: list[tuple[_Run, int]] = []
        for run in runs:
            for first, last in run.stretches():
                length = last - first
                if not rule.min_digits <= length <= rule.max_digits:
                    continue
                competing = {n for n, r in self.rules.items()
                             if r.kind != "cued_number" or r.min_digits <= length <= r.max_digits}
                tokens = streams[run.channel]
                after = run.run.owners[last - 1] + 1
                if after < len(tokens) and norm(tokens[after].text) in MEASURE_WORDS:
                    continue  # "二零二三年", "200 dollars": a date or an amount, whatever was asked before
                at = tokens[run.run.owners[first]].start
                nearest = self._latest_cue(cues, competing, at, at - rule.window_s)
                if nearest is not None and nearest.rule == name and self._allowed(rule, run, streams, first):
                    self._claim(name, rule, run, first, last, found)
                    hits.append((run, last))
        return hits

    # ---- word entities ----

    def _emails(self, name, rule, channel, tokens, taken) -> list[Found]:
        out: list[Found] = []
        words = [norm(t.text) for t in tokens]
        for i, token in enumerate(tokens):
            if i in taken:
                continue
            text = token.text.strip("\"'“”,;:()!?.。，")
            if EMAIL_WRITTEN.fullmatch(text):
                out.append(Found(name, rule.tag, channel, (i,)))
                continue
            if words[i] not in EMAIL_AT or i == 0:
                continue
            end = self._domain_end(words, i + 1)
            if end is None:
                continue
            start = i - 1
            while start >= 2 and words[start - 1] in EMAIL_JOIN and words[start - 2]:
                start -= 2
            span = tuple(j for j in range(start, end) if j not in taken)
            if span and words[start]:
                out.append(Found(name, rule.tag, channel, span))
        return out

    def _glued_emails(self, name, rule, channel, tokens, cues, taken) -> list[Found]:
        """An address the ASR split at its dots ("gain .miller .com."), or wrote without the "@", after a cue.

        Without the cue ("what is your e-mail?") a dotted name is a web site, and stays.
        """
        out: list[Found] = []
        used: set[_Cue] = set()
        i = 0
        while i < len(tokens):
            j = i
            while j + 1 < len(tokens) and (tokens[j + 1].text.startswith((".", "@")) or
                                           tokens[j].text.endswith(("@",)) or norm(tokens[j + 1].text) == "@"):
                j += 1
            joined = "".join(t.text.strip() for t in tokens[i:j + 1]).strip("\"'“”,;:()!?。，").rstrip(".")
            domain = joined.rsplit("@", 1)[-1]
            cue = self._latest_cue(cues, {name}, tokens[i].start, tokens[i].start - rule.window_s)
            if (cue is not None and cue not in used and DOMAIN_WRITTEN.fullmatch(domain.replace("@", "."))
                    and domain.rsplit(".", 1)[-1].lower() in TOP_LEVEL_DOMAINS
                    and not taken.intersection(range(i, j + 1))):
                used.add(cue)  # one address per question: a web site named later stays
                out.append(Found(name, rule.tag, channel, tuple(range(i, j + 1))))
            i = j + 1
        return out

    @staticmethod
    def _domain_end(words: list[str], i: int) -> int | None:
        """Where a domain starting at word ``i`` ends ("example dot com", "example.com"), or None."""
        if i >= len(words):
            return None
        if DOMAIN_WRITTEN.fullmatch(words[i]) and words[i].rsplit(".", 1)[-1] in TOP_LEVEL_DOMAINS:
            return i + 1
        j, end = i + 1, None
        while j + 1 < len(words) and words[j] in EMAIL_DOT and words[j + 1]:
            j += 2
            if words[j - 1] in TOP_LEVEL_DOMAINS:
                end = j
        return end

    def _cued_dates(self, name, rule, channel, tokens, cues, taken) -> list[Found]:
        out: list[Found] = []
        used: set[int] = set()
        for cue in (c for c in cues if c.rule == name):
            after = [i for i, t in enumerate(tokens) if cue.end - 0.05 <= t.start <= cue.end + rule.window_s
                     and (channel != cue.channel or i > cue.last_token)]
            start = next((i for i in after if i not in taken and i not in used and is_date_word(tokens[i].text)
                          and not is_date_joiner(tokens[i].text)), None)
            if start is None or not self._allowed_token(rule, tokens[start]):
                continue
            end = start
            while end + 1 < len(tokens) and end + 1 not in taken and (
                    is_date_word(tokens[end + 1].text) or is_date_joiner(tokens[end + 1].text)):
                end += 1
            while end > start and is_date_joiner(tokens[end].text):
                end -= 1
            span = tuple(range(start, end + 1))
            if dates_year_or_month([tokens[i].text for i in span]):
                used.update(span)
                out.append(Found(name, rule.tag, channel, span))
        return out

    def _cued_names(self, name, rule, channel, tokens, cues, taken) -> list[Found]:
        out: list[Found] = []
        for cue in (c for c in cues if c.rule == name and c.channel == channel):
            span: list[int] = []
            for i in range(cue.last_token + 1, min(len(tokens), cue.last_token + 1 + rule.max_words)):
                text = tokens[i].text
                is_cjk = len(text) == 1 and "\u4e00" <= text <= "\u9fff"
                if i in taken or not (is_cjk or text[:1].isupper()) or not self._allowed_token(rule, tokens[i]):
                    break
                span.append(i)
                if text.rstrip()[-1:] in ".,!?，。":
                    break
            if span:
                out.append(Found(name, rule.tag, channel, tuple(span)))
        return out

    def _named(self, channel, tokens, taken) -> list[Found]:
        """The configured names (``redact.names``), wherever they are said."""
        words = [norm(t.text) for t in tokens]
        out: list[Found] = []
        for phrase in self.names:
            n = len(phrase)
            for i in range(len(words) - n + 1):
                if words[i:i + n] == phrase and not taken.intersection(range(i, i + n)):
                    out.append(Found("name", "NAME", channel, tuple(range(i, i + n))))
        return out

    @staticmethod
    def _allowed_token(rule: EntityRule, token: Token) -> bool:
        return rule.roles is None or token.role in rule.roles
