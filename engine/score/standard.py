"""QA standards as data: ``configs/standards/<name>.yaml``, validated at load.

A standard is sections of weighted items; each item is one or more checks (combined with all / any /
mean), may be critical (failing it zeroes its section) or fatal (failing it zeroes the call), and the
total falls into a verdict band. A QA lead edits the YAML, never the code; every analysis records the
standard's id and version. Errors name the file, the key and what was expected, including phrase
lists a check names that a language's phrase file does not have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.config_loading import CONFIG_DIR, ConfigError, load_yaml_model
from engine.score.checks import Check
from engine.score.context import DetectionSettings
from engine.score.phrases import PhraseBook, load_phrasebook

STANDARD_DIR = CONFIG_DIR / "standards"

# Phrase lists the defect detectors read, so every phrase file must have them.
DETECTION_LISTS = ("greeting", "closing", "verification", "account_details", "prohibited",
                   "hold_request", "hold_thanks")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Item(_Strict):
    """One scored line of the scorecard."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    weight: float = Field(1.0, gt=0, description="points in its section")
    critical: bool = Field(False, description="failing it fails (zeroes) its section")
    fatal: bool = Field(False, description="failing it zeroes the whole call")
    pass_at: float | None = Field(None, ge=0, le=1, description="fraction needed to pass (default: the standard's)")
    combine: Literal["all", "any", "mean"] = Field("all", description="all: the lowest; any: the highest; mean")
    checks: list[Check] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _single_check(cls, data: Any) -> Any:
        if isinstance(data, dict) and "check" in data:
            data = dict(data)
            if "checks" in data:
                raise ValueError("give check or checks, not both")
            data["checks"] = [data.pop("check")]
        return data


class Section(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    weight: float = Field(1.0, gt=0, description="share of the total")
    items: list[Item] = Field(min_length=1)


class VerdictBand(_Strict):
    name: str
    min: float = Field(ge=0, le=100, description="lowest total (0–100) in this band")


class Standard(_Strict):
    """A QA standard: what a careful QA lead checks on every call, and how it adds up."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    version: str
    title: str
    description: str = ""
    languages: list[str] = Field(min_length=1)
    phrases: str = Field("qa", description="phrase set: configs/phrases/<phrases>.<language>.yaml")
    pass_at: float = Field(0.7, ge=0, le=1, description="fraction of an item's points needed to pass it")
    verdicts: list[VerdictBand] = Field(min_length=1)
    fatal_verdict: str | None = Field(None, description="verdict when a fatal item fails (default: the lowest band)")
    detection: DetectionSettings = DetectionSettings()
    sections: list[Section] = Field(min_length=1)
    source: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Standard:
        self.verdicts = sorted(self.verdicts, key=lambda b: -b.min)
        if self.verdicts[-1].min != 0:
            raise ValueError(f"verdicts: the lowest band must start at 0 (got {self.verdicts[-1].min})")
        names = [b.name for b in self.verdicts]
        if self.fatal_verdict is not None and self.fatal_verdict not in names:
            raise ValueError(f"fatal_verdict: expected one of {names}, got {self.fatal_verdict!r}")
        for kind, ids in (("section", [s.id for s in self.sections]),
                          ("item", [i.id for s in self.sections for i in s.items])):
            duplicates = sorted({x for x in ids if ids.count(x) > 1})
            if duplicates:
                raise ValueError(f"{kind} ids must be unique; repeated: {duplicates}")
        return self

    def verdict(self, total: float, fatal_failed: bool) -> str:
        if fatal_failed:
            return self.fatal_verdict or self.verdicts[-1].name
        return next(b.name for b in self.verdicts if total >= b.min)

    def phrasebook(self, language: str) -> PhraseBook:
        if language not in self.languages:
            raise ConfigError(f"{self.source or self.id}: languages: this standard scores {self.languages}, "
                              f"not {language!r}")
        return load_phrasebook(self.phrases, language)


def _check_phrase_lists(standard: Standard, path: Path) -> None:
    for language in standard.languages:
        book = standard.phrasebook(language)
        missing = [f"detection: {key}" for key in DETECTION_LISTS if key not in book.lists]
        for s_index, section in enumerate(standard.sections):
            for i_index, item in enumerate(section.items):
                for c_index, check in enumerate(item.checks):
                    for key in check.phrase_lists():
                        if key not in book.lists:
                            missing.append(f"sections.{s_index}.items.{i_index}.checks.{c_index}: {key}")
        if missing:
            raise ConfigError(f"{path}: phrase lists not in {book.source} (language {language}):\n  "
                              + "\n  ".join(missing) + f"\n  expected one of: {sorted(book.lists)}")


def load_standard(name_or_path: str | Path) -> Standard:
    """A standard by name (``configs/standards/<name>.yaml``) or path, validated with its phrase lists."""
    text = str(name_or_path)
    path = Path(text) if text.endswith((".yaml", ".yml")) or "/" in text else STANDARD_DIR / f"{text}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in STANDARD_DIR.glob("*.yaml"))
        raise ConfigError(f"{path}: standard not found; known standards: {known}")
    standard = load_yaml_model(path, Standard, "standard", "a mapping (id, version, sections …)",
                               source=str(path))
    _check_phrase_lists(standard, path)
    return standard


def available_standards() -> list[str]:
    return sorted(p.stem for p in STANDARD_DIR.glob("*.yaml"))
