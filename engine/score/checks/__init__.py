"""The checks QA items are built from, one module per family; ``Check`` is their YAML union."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from engine.score.checks.defect import EMOTION_DEFECTS, DefectName, NoDefect
from engine.score.checks.dynamics import Hesitation, HoldEtiquette, SilenceShare, SpeakingRate, TalkRatio
from engine.score.checks.emotion import EmotionOutcome
from engine.score.checks.empathy import EmpathyAfterNegativity
from engine.score.checks.phrases import PhraseAbsent, PhraseBefore, PhrasePresent
from engine.score.checks.resolution import FollowUp, Resolution
from engine.score.context import CallContext, CheckSpec, Outcome

Check = Annotated[
    PhrasePresent | PhraseAbsent | PhraseBefore | EmpathyAfterNegativity | TalkRatio | SpeakingRate | Hesitation
    | SilenceShare | HoldEtiquette | EmotionOutcome | Resolution | FollowUp | NoDefect,
    Field(discriminator="type"),
]

__all__ = [
    "EMOTION_DEFECTS",
    "CallContext",
    "Check",
    "CheckSpec",
    "DefectName",
    "EmotionOutcome",
    "EmpathyAfterNegativity",
    "FollowUp",
    "Hesitation",
    "HoldEtiquette",
    "NoDefect",
    "Outcome",
    "PhraseAbsent",
    "PhraseBefore",
    "PhrasePresent",
    "Resolution",
    "SilenceShare",
    "SpeakingRate",
    "TalkRatio",
]
