"""Courtesy in service talk: apologies, empathy and acknowledgements are not the speaker's negativity.

Why a rule beside the fitted head: sentence embeddings place "I'm so sorry for the inconvenience" and "I
understand how frustrating that is" near complaints, since they share the complaint's words; on the
corpus-fitted heads, held-out apologies still read sad, frustrated or angry (docs/text_emotion.md), and on
real calls that became high-severity "agent lost composure" on polite turns. So a turn holding a courtesy
pattern and no hostile one (``configs/emotion/courtesy.<language>.yaml``, which a centre extends) keeps at
most ``negative_cap`` of its probability on the negative labels; the rest goes to neutral. Explicit anger
that merely contains an apology ("don't give me that sorry crap") is hostile, not courteous. The other way
round, a turn with explicit hostile words and no courtesy ("什么？太过分了！", which the Mandarin head, fitted
on TV drama, reads as neutral or sad) keeps at least ``hostile_floor`` on anger and frustration.

Service complaints are a third kind (issue 23): "this is the third time I've called", "I've been on hold for
forty minutes", "说好的退款到现在还没到", which the corpus-fitted heads read as neutral (in dialogue corpora,
grievances about a service are rare and told calmly). A turn holding a ``complaint`` pattern, no courtesy and no
hostility keeps at least ``complaint_floor`` on anger and frustration, the added share going to
``complaint_label`` (frustration: a grievance, not hostility). Courtesy wins over a complaint, unlike over
hostility: an agent's "I'm sorry you've had to call three times" is empathy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.config import ConfigError, describe_validation_error, read_yaml_mapping
from engine.emotion.text.examples import resolve_example_path

NEGATIVE_LABELS = ("angry", "frustrated", "anxious", "sad")
HOSTILE_LABELS = ("angry", "frustrated")


class CourtesyFile(BaseModel):
    """One courtesy file: patterns that mark courtesy, and patterns that mark hostility (which wins)."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = None
    courtesy: list[str] = Field(min_length=1)
    hostile: list[str] = Field(default_factory=list)
    complaint: list[str] = Field(default_factory=list)


def _compile(patterns: list[str], path: Path, key: str, cjk: bool) -> re.Pattern[str]:
    bounded = patterns if cjk else [rf"(?<![\w']){p}(?![\w'])" for p in patterns]
    try:
        return re.compile("|".join(f"(?:{p})" for p in bounded), re.IGNORECASE)
    except re.error as exc:
        raise ConfigError(f"{path}: {key}: not a valid regular expression: {exc}") from None


@dataclass(frozen=True)
class CourtesyRule:
    """A language's courtesy and hostility patterns, and the cap on negative labels they bring."""

    courtesy: re.Pattern[str]
    hostile: re.Pattern[str] | None
    negative_cap: float
    hostile_floor: float = 0.0
    complaint: re.Pattern[str] | None = None
    complaint_floor: float = 0.0
    complaint_label: str = "frustrated"

    @classmethod
    def load(cls, paths: list[str], language: str, negative_cap: float, hostile_floor: float = 0.0,
             complaint_floor: float = 0.0, complaint_label: str = "frustrated") -> CourtesyRule:
        courtesy: list[str] = []
        hostile: list[str] = []
        complaint: list[str] = []
        files = [resolve_example_path(p) for p in paths]
        for path in files:
            data = read_yaml_mapping(path, "courtesy file", "a mapping with keys 'courtesy' and 'hostile'")
            try:
                parsed = CourtesyFile.model_validate(data)
            except ValidationError as exc:
                raise ConfigError(describe_validation_error(path, exc)) from None
            if parsed.language is not None and parsed.language != language:
                raise ConfigError(f"{path}: language: file says {parsed.language!r} but it is configured for "
                                  f"{language!r}")
            courtesy += parsed.courtesy
            hostile += parsed.hostile
            complaint += parsed.complaint
        cjk = language.startswith("zh")
        where = files[0] if files else Path(".")
        return cls(_compile(courtesy, where, "courtesy", cjk),
                   _compile(hostile, where, "hostile", cjk) if hostile else None, negative_cap, hostile_floor,
                   _compile(complaint, where, "complaint", cjk) if complaint else None, complaint_floor,
                   complaint_label)

    def applies(self, text: str) -> bool:
        """The turn is courteous: a courtesy pattern and no hostile one."""
        normalised = text.replace("’", "'")
        return bool(self.courtesy.search(normalised)) and not (self.hostile and self.hostile.search(normalised))

    def hostile_words(self, text: str) -> bool:
        """The turn holds explicit hostility ("this is unacceptable", "太过分了")."""
        return bool(self.hostile and self.hostile.search(text.replace("’", "'")))

    def complaint_words(self, text: str) -> bool:
        """The turn holds a service complaint ("third time I've called", "等了四十分钟") and no courtesy."""
        return bool(self.complaint and self.complaint.search(text.replace("’", "'"))) and not self.applies(text)

    def explicit(self, text: str) -> bool:
        """The words say outright that the speaker is upset: hostility, or a complaint without courtesy."""
        return not self.applies(text) and (self.hostile_words(text) or self.complaint_words(text))

    def floor(self, scores: dict[str, float]) -> dict[str, float]:
        """``scores`` with anger and frustration holding at least ``hostile_floor`` (taken from the rest)."""
        hostile = sum(scores.get(k, 0.0) for k in HOSTILE_LABELS)
        if hostile >= self.hostile_floor or not all(k in scores for k in HOSTILE_LABELS):
            return scores
        rest = 1.0 - hostile
        shares = {k: (scores[k] + 1e-3) / (hostile + 2e-3) for k in HOSTILE_LABELS}
        keep = (1.0 - self.hostile_floor) / rest if rest > 0 else 0.0
        return {k: (self.hostile_floor * shares[k] if k in HOSTILE_LABELS else v * keep) for k, v in scores.items()}

    def complaint_floor_of(self, scores: dict[str, float]) -> dict[str, float]:
        """``scores`` with anger and frustration holding at least ``complaint_floor``, the added share (taken
        from the other labels in proportion) going to ``complaint_label``."""
        hostile = sum(scores.get(k, 0.0) for k in HOSTILE_LABELS)
        if hostile >= self.complaint_floor or self.complaint_label not in scores:
            return scores
        rest = 1.0 - hostile
        keep = (1.0 - self.complaint_floor) / rest if rest > 0 else 0.0
        floored = {k: (v if k in HOSTILE_LABELS else v * keep) for k, v in scores.items()}
        floored[self.complaint_label] += self.complaint_floor - hostile
        return floored

    def apply(self, text: str, scores: dict[str, float]) -> dict[str, float]:
        """The words' scores after what the words do: courtesy capped, explicit hostility and complaints floored."""
        if self.applies(text):
            return self.cap(scores)
        if self.hostile_words(text):
            return self.floor(scores)
        if self.complaint_words(text):
            return self.complaint_floor_of(scores)
        return scores

    def cap(self, scores: dict[str, float]) -> dict[str, float]:
        """``scores`` with the negative labels holding at most ``negative_cap`` in all (the rest to neutral)."""
        negative = sum(scores.get(k, 0.0) for k in NEGATIVE_LABELS)
        if negative <= self.negative_cap or "neutral" not in scores:
            return scores
        keep = self.negative_cap / negative
        capped = {k: (v * keep if k in NEGATIVE_LABELS else v) for k, v in scores.items()}
        capped["neutral"] += negative - self.negative_cap
        return capped
