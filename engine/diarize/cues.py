"""Phrase lists that tell an agent from a customer, a backchannel from a turn, and announce a hold.

The lists are data (``configs/phrases/roles.<language>.yaml``) so that a QA team can add its own
greetings and script lines. Matching is on normalised text: lower case, no punctuation; English
phrases match whole words, Mandarin phrases match as substrings (Mandarin has no spaces).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from engine.config import load_yaml_model

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_CJK = re.compile(r"[\u3400-\u9fff]")
_SPACE_IN_CJK = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")


class CueCategory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(1.0, description="how much one of these phrases says about the role")
    opening_only: bool = Field(False, description="counts only early in the call (greetings)")
    phrases: list[str]


class PhraseFile(BaseModel):
    """The schema of ``configs/phrases/roles.<language>.yaml``."""

    model_config = ConfigDict(extra="forbid")

    language: str
    agent: dict[str, CueCategory] = Field(default_factory=dict)
    customer: dict[str, CueCategory] = Field(default_factory=dict)
    backchannels: list[str] = Field(default_factory=list)
    hold: list[str] = Field(default_factory=list)


@dataclass
class Cues:
    """All phrase lists of the configured languages, normalised for matching."""

    agent: dict[str, CueCategory] = field(default_factory=dict)
    customer: dict[str, CueCategory] = field(default_factory=dict)
    backchannels: list[str] = field(default_factory=list)
    hold: list[str] = field(default_factory=list)

    def add(self, phrases: PhraseFile) -> None:
        for target, source in ((self.agent, phrases.agent), (self.customer, phrases.customer)):
            for name, category in source.items():
                normalised = [normalise(p) for p in category.phrases]
                if name in target:
                    target[name].phrases.extend(normalised)
                else:
                    target[name] = category.model_copy(update={"phrases": normalised})
        self.backchannels.extend(normalise(p) for p in phrases.backchannels)
        self.hold.extend(normalise(p) for p in phrases.hold)
        # longest first, so that "uh-huh yeah" is stripped before "yeah"
        self.backchannels.sort(key=len, reverse=True)


def is_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def normalise(text: str) -> str:
    """Lower case, punctuation removed (apostrophes and hyphens inside words kept), spaces collapsed;
    no spaces between Mandarin characters (ASR tokens of one phrase may come apart)."""
    text = unicodedata.normalize("NFKC", text).lower()
    chars = [c if (c.isalnum() or c in "'-" or c.isspace()) else " " for c in text]
    words = "".join(chars).split()
    return _SPACE_IN_CJK.sub("", " ".join(w.strip("'-") for w in words if w.strip("'-")))


def find(text: str, phrase: str) -> bool:
    """Whether normalised ``phrase`` occurs in normalised ``text``."""
    if not phrase:
        return False
    if is_cjk(phrase):
        return phrase.replace(" ", "") in text.replace(" ", "")
    return f" {phrase} " in f" {text} "


def strip_phrases(text: str, phrases: list[str]) -> str:
    """``text`` with every occurrence of the given phrases removed (longest phrases first)."""
    spaced = f" {text} "
    for phrase in phrases:
        if is_cjk(phrase):
            spaced = spaced.replace(phrase.replace(" ", ""), " ")
        else:
            while f" {phrase} " in spaced:
                spaced = spaced.replace(f" {phrase} ", " ")
    return " ".join(spaced.split())


def resolve_path(path: str | Path) -> Path:
    """A configured path: absolute, or relative to the working directory, or to the project root."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return PROJECT_ROOT / candidate


@lru_cache(maxsize=32)
def _load_file(path: Path) -> PhraseFile:
    return load_yaml_model(path, PhraseFile, "phrase list (diarize.roles.cue_files)", "a mapping of cue lists")


def load_cues(files: dict[str, str]) -> Cues:
    """The phrase lists of every configured language, merged (calls mix languages)."""
    cues = Cues()
    for language in sorted(files):
        cues.add(_load_file(resolve_path(files[language])))
    return cues
