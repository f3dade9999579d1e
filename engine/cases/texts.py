"""The wording of annotations and questions per language (``configs/cases/texts.<language>.yaml``) and the
reply-act / intent phrase lists (``configs/cases/acts.<language>.yaml``, matched by ``engine.score.phrases``).
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from engine.cases.config import QUESTION_KINDS, CasesConfig, phrases_dir
from engine.config_loading import ConfigError, load_yaml_model
from engine.score.phrases import PhraseBook, load_phrasebook

INTENT_PREFIX = "intent_"
SUPPORTED = ("en", "zh")


class QuestionText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str
    answer: str


class OutcomeText(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved: str
    unresolved: str
    unknown: str
    left: str


class CaseTexts(BaseModel):
    """Labels and templates for one language; placeholders are ``{name}`` fields filled from the call."""

    model_config = ConfigDict(extra="forbid")

    language: str
    labels: dict[str, str]
    background: str
    outcome: OutcomeText
    questions: dict[str, QuestionText]
    events: dict[str, str] = {}
    source: str = ""

    @model_validator(mode="after")
    def _every_question_kind(self) -> CaseTexts:
        missing = [k for k in QUESTION_KINDS if k not in self.questions]
        if missing:
            raise ValueError(f"questions: missing {', '.join(missing)}")
        for kind, text in self.questions.items():
            for template in (text.prompt, text.answer):
                list(string.Formatter().parse(template))  # a stray brace is an error at load, not at use
            if kind not in QUESTION_KINDS:
                raise ValueError(f"questions: unknown kind {kind!r}; kinds: {', '.join(QUESTION_KINDS)}")
        return self

    def label(self, key: str) -> str:
        return self.labels.get(key, key.removeprefix(INTENT_PREFIX).replace("_", " "))

    def join(self, items: list[str]) -> str:
        return self.labels.get("list_joiner", ", ").join(items)

    def event(self, kind: str, detail: str) -> str:
        return self.events.get(kind, detail or kind)


def _language(language: str) -> str:
    return language if language in SUPPORTED else "en"


@lru_cache(maxsize=8)
def _texts(path: Path) -> CaseTexts:
    return load_yaml_model(path, CaseTexts, "case texts file", "a mapping with labels, background, outcome, "
                                                               "questions", source=str(path))


def load_texts(language: str, config: CasesConfig | None = None) -> CaseTexts:
    """The wording for ``language`` (English for a language without its own file)."""
    language = _language(language)
    path = phrases_dir(config) / f"texts.{language}.yaml"
    texts = _texts(path)
    if texts.language != language:
        raise ConfigError(f"{path}: language: expected {language!r}, got {texts.language!r}")
    return texts


def load_acts(language: str, config: CasesConfig | None = None) -> PhraseBook:
    """The reply-act and intent phrase lists for ``language``."""
    return load_phrasebook(str(phrases_dir(config) / f"acts.{_language(language)}.yaml"), _language(language))
