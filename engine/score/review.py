"""A reviewer's overrides, kept beside the automatic scores (never over them), and how well the two agree.

An override names the call, the standard (id and version) and either an item (its score and/or
pass/fail as the reviewer sees it) or, with ``item_id`` None, the call's verdict. Overrides are typed
records with JSON I/O here; storing them in the database is the store's job.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field, TypeAdapter, model_validator

from engine.record import Record, Scorecard
from engine.score.scorecard import item_assessed


class ReviewOverride(Record):
    """One reviewer's judgement of one item (or of the call's verdict when ``item_id`` is None)."""

    call_id: str
    standard_id: str
    standard_version: str
    item_id: str | None = None
    reviewer: str
    score: float | None = Field(None, ge=0, description="the item's score as the reviewer sees it")
    passed: bool | None = None
    verdict: str | None = None
    comment: str = ""
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @model_validator(mode="after")
    def _says_something(self) -> ReviewOverride:
        if self.item_id is None and self.verdict is None:
            raise ValueError("a call-level override gives a verdict")
        if self.item_id is not None and self.score is None and self.passed is None:
            raise ValueError("an item override gives a score, a pass/fail, or both")
        return self


class ScoredCall(Record):
    """The automatic scorecard of one call, as the agreement report pairs it with reviews."""

    call_id: str
    scorecard: Scorecard


class ItemAgreement(Record):
    item_id: str
    reviewed: int = 0
    agreed: int = 0
    mean_abs_score_diff: float | None = None


class Disagreement(Record):
    call_id: str
    item_id: str | None
    automatic: str
    reviewer: str
    reviewer_name: str
    comment: str = ""


class AgreementReport(Record):
    """How often the automatic scoring agrees with reviewers, overall and per item."""

    calls: int
    reviewed_items: int
    pass_fail_agreement: float | None = Field(None, description="share of reviewed items with the same pass/fail")
    cohen_kappa: float | None = Field(None, description="pass/fail agreement beyond chance")
    mean_abs_score_diff: float | None = Field(None, description="mean |reviewer − automatic| as a share of max")
    verdicts_reviewed: int = 0
    verdict_agreement: float | None = None
    per_item: list[ItemAgreement] = Field(default_factory=list)
    disagreements: list[Disagreement] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="overrides that match no scored item")

    def lines(self) -> list[str]:
        def pct(value: float | None) -> str:
            return "-" if value is None else f"{value:.0%}"

        out = [f"{self.calls} calls, {self.reviewed_items} reviewed items: pass/fail agreement "
               f"{pct(self.pass_fail_agreement)}, kappa "
               f"{'-' if self.cohen_kappa is None else f'{self.cohen_kappa:.2f}'}, "
               f"mean score difference {pct(self.mean_abs_score_diff)}"]
        if self.verdicts_reviewed:
            out.append(f"verdicts: {self.verdicts_reviewed} reviewed, {pct(self.verdict_agreement)} agree")
        out += [f"  {a.item_id}: {a.agreed}/{a.reviewed} agree" for a in self.per_item]
        return out


_OVERRIDES = TypeAdapter(list[ReviewOverride])


def save_overrides(path: Path | str, overrides: list[ReviewOverride]) -> None:
    Path(path).write_text(_OVERRIDES.dump_json(overrides, indent=2).decode(), encoding="utf-8")


def load_overrides(path: Path | str) -> list[ReviewOverride]:
    return _OVERRIDES.validate_json(Path(path).read_text(encoding="utf-8"))


def _kappa(pairs: list[tuple[bool, bool]]) -> float | None:
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    auto_yes = sum(a for a, _ in pairs) / n
    review_yes = sum(b for _, b in pairs) / n
    expected = auto_yes * review_yes + (1 - auto_yes) * (1 - review_yes)
    if math.isclose(expected, 1.0):
        return 1.0 if math.isclose(observed, 1.0) else 0.0
    return round((observed - expected) / (1 - expected), 3)


def agreement_report(auto: list[Scorecard] | list[ScoredCall], reviews: list[ReviewOverride],
                     pass_at: float = 0.7) -> AgreementReport:
    """Compare automatic scorecards with reviewers' overrides.

    An override that gives only a score passes at ``pass_at`` of the item's points (use the standard's).

    ``auto`` pairs each scorecard with its call id (``ScoredCall``); plain ``Scorecard``s are accepted
    when every override names the only call — they are matched by standard and item alone then.
    """
    calls = [c if isinstance(c, ScoredCall) else ScoredCall(call_id="", scorecard=c) for c in auto]
    index = {(c.call_id, c.scorecard.standard_id, c.scorecard.standard_version): c.scorecard for c in calls}

    def card_for(r: ReviewOverride) -> Scorecard | None:
        return index.get((r.call_id, r.standard_id, r.standard_version)) or index.get(
            ("", r.standard_id, r.standard_version))

    pairs: list[tuple[bool, bool]] = []
    diffs: list[float] = []
    per_item: dict[str, ItemAgreement] = defaultdict(lambda: ItemAgreement(item_id=""))
    item_diffs: dict[str, list[float]] = defaultdict(list)
    verdicts: list[bool] = []
    disagreements: list[Disagreement] = []
    skipped: list[str] = []
    for review in reviews:
        card = card_for(review)
        where = f"{review.call_id}/{review.standard_id} v{review.standard_version}/{review.item_id or 'verdict'}"
        if card is None:
            skipped.append(f"{where}: no automatic scorecard")
            continue
        if review.item_id is None:
            same = review.verdict == card.verdict
            verdicts.append(same)
            if not same:
                disagreements.append(Disagreement(call_id=review.call_id, item_id=None, automatic=card.verdict,
                                                  reviewer=str(review.verdict), reviewer_name=review.reviewer,
                                                  comment=review.comment))
            continue
        item = next((i for i in card.items if i.item_id == review.item_id), None)
        if item is None or not item_assessed(item):
            skipped.append(f"{where}: " + ("no such item" if item is None else "not assessed automatically"))
            continue
        reviewed_pass = review.passed if review.passed is not None else (
            review.score is not None and review.score >= item.max_score * pass_at - 1e-9)
        pairs.append((item.passed, reviewed_pass))
        entry = per_item[item.item_id]
        entry.item_id = item.item_id
        entry.reviewed += 1
        entry.agreed += item.passed == reviewed_pass
        if review.score is not None:
            diff = abs(review.score - item.score) / item.max_score
            diffs.append(diff)
            item_diffs[item.item_id].append(diff)
        if item.passed != reviewed_pass:
            disagreements.append(Disagreement(
                call_id=review.call_id, item_id=item.item_id,
                automatic=f"{'pass' if item.passed else 'fail'} {item.score:g}/{item.max_score:g}",
                reviewer=f"{'pass' if reviewed_pass else 'fail'}"
                + (f" {review.score:g}/{item.max_score:g}" if review.score is not None else ""),
                reviewer_name=review.reviewer, comment=review.comment))
    for item_id, values in item_diffs.items():
        per_item[item_id].mean_abs_score_diff = round(sum(values) / len(values), 3)
    return AgreementReport(
        calls=len(calls), reviewed_items=len(pairs),
        pass_fail_agreement=round(sum(a == b for a, b in pairs) / len(pairs), 3) if pairs else None,
        cohen_kappa=_kappa(pairs),
        mean_abs_score_diff=round(sum(diffs) / len(diffs), 3) if diffs else None,
        verdicts_reviewed=len(verdicts),
        verdict_agreement=round(sum(verdicts) / len(verdicts), 3) if verdicts else None,
        per_item=sorted(per_item.values(), key=lambda a: a.item_id), disagreements=disagreements, skipped=skipped,
    )

