"""Items built from service defects: the item holds while no (or few enough) such defects occurred."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.score.context import CallContext, CheckSpec, Outcome, at, graded

DefectName = Literal[
    "missing_greeting", "missing_closing", "missing_verification", "prohibited_phrase",
    "agent_interrupted_customer", "dead_air", "agent_angered_customer", "agent_lost_composure",
    "unresolved_escalation",
]
EMOTION_DEFECTS = frozenset({"agent_angered_customer", "agent_lost_composure", "unresolved_escalation"})


class NoDefect(CheckSpec):
    """None of the named defects (``defect.<name>`` events) beyond ``allowed``."""

    type: Literal["no_defect"]
    defects: list[DefectName] = Field(min_length=1)
    allowed: int = Field(0, ge=0)
    penalty: float = Field(1.0, gt=0, le=1, description="taken off per defect beyond the allowed")

    def run(self, ctx: CallContext) -> Outcome:
        names = set(self.defects)
        if names <= EMOTION_DEFECTS and not ctx.emotion_assessed:
            return Outcome.not_assessed("the emotion stage did not run on this call")
        found = [e for e in ctx.defects if e.kind.removeprefix("defect.") in names]
        readable = " / ".join(n.replace("_", " ") for n in self.defects)
        if not found:
            unjudged = names & EMOTION_DEFECTS if not ctx.emotion_assessed else set()
            note = f" (not assessed: {', '.join(sorted(unjudged))})" if unjudged else ""
            return Outcome(1.0, f"no {readable}{note}")
        evidence = [ev for e in found for ev in e.evidence[:1]]
        first = found[0].detail or at(evidence[0])
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        return Outcome(graded(len(found), self.allowed, self.penalty), f"{first}{more}", evidence)
