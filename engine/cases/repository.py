"""``CaseRepository``: the voice-case library in the callqa store, for the command line, the batch and a web view.

Promotion reads stored analyses and writes a candidate per recording (``voice_cases.content_hash`` is
unique; the insert is insert-or-ignore, so a rerun, another configuration's analysis of the same
recording or two processes racing never add a candidate twice). Every change a trainer makes is a row of
the case's history; every annotation edit is a new version, the older ones kept.

The methods take and return the typed records of ``engine.cases.records``; a web view lists
``candidates()``, shows ``case(id)`` and calls ``accept`` / ``reject`` / ``edit`` / ``regrade``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select, update

from engine.cases.annotation import draft_annotation
from engine.cases.config import CaseRules, CasesConfig, load_case_rules
from engine.cases.grading import grade_case
from engine.cases.library import case_half, level_status
from engine.cases.promotion import case_kind, promotion_reasons
from engine.cases.records import (
    AgentRecord,
    Annotation,
    AnnotationVersion,
    Assessment,
    AssessmentItem,
    CaseQuery,
    CaseSummary,
    Grade,
    HistoryEntry,
    LevelStatus,
    PromotionReason,
    Question,
    VoiceCase,
)
from engine.cases.texts import load_acts, load_texts
from engine.record import CallAnalysis
from engine.store import Store, StoredCall
from engine.store.models import (
    AgentAssessmentRow,
    AgentLevelRow,
    CallRow,
    CaseAnnotationRow,
    CaseHistoryRow,
    VoiceCaseRow,
    utcnow,
)
from engine.summary.config import DriversConfig

ENGINE = "engine"


class CaseError(ValueError):
    """A trainer's request the library cannot carry out (unknown case, wrong status, bad level …)."""


def case_id_for(content_hash: str) -> str:
    """A case's id: from the recording's bytes, so every analysis of one recording is one case."""
    return f"case-{content_hash[:16]}"


@dataclass
class PromotionReport:
    promoted: list[str] = field(default_factory=list)
    already: int = 0
    considered: int = 0


@dataclass(frozen=True)
class AssessmentQuestion:
    """One question of a level's test half, as an assessment asks it."""

    case_id: str
    index: int
    question: Question


def _drivers(pairs: Sequence[tuple[str, str]], config: DriversConfig) -> dict[str, str]:
    """Each call's driver label, from the call-driver grouping of the calls promoted together."""
    from engine.summary.drivers import NO_OPENING, call_drivers  # scikit-learn: loaded only to promote

    labels: dict[str, str] = {}
    for driver in call_drivers(pairs, config):
        for call_id in driver.call_ids:
            labels[call_id] = "" if driver.label == NO_OPENING else driver.label
    return labels


class CaseRepository:
    """The library over one ``Store``."""

    def __init__(self, store: Store, config: CasesConfig | None = None, rules: CaseRules | None = None,
                 drivers: DriversConfig | None = None) -> None:
        self.store = store
        self.config = config or CasesConfig()
        self.rules = rules or load_case_rules(self.config)
        self.drivers = drivers or DriversConfig()

    # -- promotion ------------------------------------------------------------------------------------

    def draft(self, analysis: CallAnalysis, driver: str) -> tuple[Annotation, Grade]:
        """The engine's annotation and grade of one call (not stored)."""
        language = analysis.transcript.language if analysis.transcript else "en"
        annotation = draft_annotation(analysis, driver, self.rules.annotation, load_texts(language, self.config),
                                      load_acts(language, self.config))
        return annotation, grade_case(analysis, annotation, self.rules.grading, self.rules.annotation)

    def promote(self, day: date | None = None, keys: Iterable[str] | None = None) -> PromotionReport:
        """Promote the stored calls of ``day`` (or those of ``keys``, or all) that the rules pick."""
        if keys is not None:
            chosen: list[tuple[StoredCall, CallAnalysis]] = []
            for key in dict.fromkeys(keys):
                call, analysis = self.store.call(key), self.store.analysis(key)
                if call is not None and analysis is not None:
                    chosen.append((call, analysis))
        else:
            chosen = list(self.store.analyses(day))
        return self.promote_analyses(chosen)

    def promote_analyses(self, calls: Sequence[tuple[StoredCall, CallAnalysis]]) -> PromotionReport:
        report = PromotionReport(considered=len(calls))
        with self.store._read() as conn:
            known = set(conn.scalars(select(VoiceCaseRow.content_hash)))
        fresh: list[tuple[StoredCall, CallAnalysis, list[PromotionReason]]] = []
        for call, analysis in calls:
            reasons = promotion_reasons(analysis, self.rules.promotion)
            if not reasons:
                continue
            if analysis.call.content_hash in known:
                report.already += 1
                continue
            known.add(analysis.call.content_hash)
            fresh.append((call, analysis, reasons))
        if not fresh:
            return report
        from engine.summary.drivers import opening_text  # scikit-learn: loaded only when there is news

        drivers = _drivers([(a.call.call_id, opening_text(a, self.drivers)) for _, a, _ in fresh], self.drivers)
        for call, analysis, reasons in fresh:
            if self._add_candidate(call, analysis, reasons, drivers.get(analysis.call.call_id, "")):
                report.promoted.append(case_id_for(analysis.call.content_hash))
            else:
                report.already += 1
        return report

    def _add_candidate(self, call: StoredCall, analysis: CallAnalysis, reasons: list[PromotionReason],
                       driver: str) -> bool:
        annotation, grade = self.draft(analysis, driver)
        now = utcnow()
        case_id = case_id_for(analysis.call.content_hash)
        row = {
            "case_id": case_id, "content_hash": analysis.call.content_hash, "call_key": call.call_key,
            "call_id": call.call_id, "agent_id": call.agent_id, "call_date": call.call_date,
            "language": annotation.language, "kind": case_kind(reasons, self.rules.promotion), "driver": driver,
            "status": "candidate", "level": grade.level, "half": None, "grade": grade.model_dump(mode="json"),
            "reasons": [r.model_dump(mode="json") for r in reasons], "annotation_version": 1,
            "created_at": now, "updated_at": now,
        }
        with self.store._write() as conn:
            stmt = self.store._insert(VoiceCaseRow.__table__).values(**row).on_conflict_do_nothing()
            if conn.execute(stmt.returning(VoiceCaseRow.case_id)).first() is None:
                return False  # another process promoted this recording first
            conn.execute(CaseAnnotationRow.__table__.insert().values(
                case_id=case_id, version=1, author=ENGINE, note="drafted from the analysis",
                annotation=annotation.model_dump(mode="json"), created_at=now))
            self._log(conn, case_id, "promoted", ENGINE,
                      {"rules": ", ".join(dict.fromkeys(r.rule for r in reasons)), "level": grade.level})
        return True

    # -- reading --------------------------------------------------------------------------------------

    def candidates(self) -> list[CaseSummary]:
        """The queue a trainer works through: candidates, oldest first."""
        return self.search(CaseQuery(status="candidate"))

    def search(self, query: CaseQuery | None = None) -> list[CaseSummary]:
        query = query or CaseQuery()
        table = VoiceCaseRow.__table__
        stmt = select(table).order_by(table.c.created_at, table.c.case_id)
        for name in ("status", "level", "half", "kind", "agent_id", "language"):
            value = getattr(query, name)
            if value is not None:
                stmt = stmt.where(table.c[name] == value)
        if query.day is not None:
            stmt = stmt.where(table.c.call_date == query.day)
        if query.driver:
            stmt = stmt.where(func.lower(table.c.driver).contains(query.driver.lower()))
        with self.store._read() as conn:
            return [_summary(r) for r in conn.execute(stmt).mappings()]

    def case(self, case_id: str) -> VoiceCase | None:
        """A case with its current annotation, grade and history."""
        with self.store._read() as conn:
            row = conn.execute(select(VoiceCaseRow.__table__).where(VoiceCaseRow.case_id == case_id)
                               ).mappings().first()
            if row is None:
                return None
            annotation = conn.scalar(select(CaseAnnotationRow.annotation).where(
                CaseAnnotationRow.case_id == case_id, CaseAnnotationRow.version == row["annotation_version"]))
            history = self._history(conn, case_id)
        return VoiceCase(**_summary(row).model_dump(), content_hash=row["content_hash"],
                         grade=Grade.model_validate(row["grade"]) if row["grade"] else None,
                         annotation=Annotation.model_validate(annotation), decided_by=row["decided_by"],
                         decision_reason=row["decision_reason"], history=history)

    def annotation_versions(self, case_id: str) -> list[AnnotationVersion]:
        stmt = (select(CaseAnnotationRow.__table__).where(CaseAnnotationRow.case_id == case_id)
                .order_by(CaseAnnotationRow.version))
        with self.store._read() as conn:
            return [AnnotationVersion(version=r["version"], author=r["author"], note=r["note"],
                                      created_at=r["created_at"], annotation=Annotation.model_validate(r["annotation"]))
                    for r in conn.execute(stmt).mappings()]

    def analysis(self, case: CaseSummary) -> CallAnalysis | None:
        """The stored analysis the case was drafted from."""
        return self.store.analysis(case.call_key)

    def library_status(self) -> list[LevelStatus]:
        table = VoiceCaseRow.__table__
        stmt = (select(table.c.level, table.c.half, func.count()).where(table.c.status == "accepted")
                .group_by(table.c.level, table.c.half))
        with self.store._read() as conn:
            counts = {(level, half): n for level, half, n in conn.execute(stmt)}
        return level_status(counts, self.rules.library)

    # -- the trainer's decisions ----------------------------------------------------------------------

    def accept(self, case_id: str, trainer: str, level: int | None = None) -> VoiceCase:
        """Into the library, at its grade's level (or ``level``), in its half by the seeded hash."""
        with self.store._write() as conn:
            row = self._locked(conn, case_id)
            if row["status"] not in ("candidate", "rejected"):
                raise CaseError(f"{case_id} is {row['status']}: only a candidate (or a rejected one) is accepted")
            chosen = _level(level if level is not None else row["level"])
            half = case_half(case_id, self.rules.library)
            self._set(conn, case_id, status="accepted", level=chosen, half=half, decided_by=trainer,
                      decision_reason=None)
            self._log(conn, case_id, "accepted", trainer, {"level": chosen, "half": half})
        return self._case(case_id)

    def reject(self, case_id: str, trainer: str, reason: str) -> VoiceCase:
        if not reason.strip():
            raise CaseError("a rejection needs a reason")
        with self.store._write() as conn:
            row = self._locked(conn, case_id)
            if row["status"] != "candidate":
                raise CaseError(f"{case_id} is {row['status']}: only a candidate is rejected (retire a library case)")
            self._set(conn, case_id, status="rejected", decided_by=trainer, decision_reason=reason)
            self._log(conn, case_id, "rejected", trainer, {"reason": reason})
        return self._case(case_id)

    def edit(self, case_id: str, trainer: str, annotation: Annotation, note: str = "") -> VoiceCase:
        """A new version of the annotation; the earlier ones stay."""
        with self.store._write() as conn:
            row = self._locked(conn, case_id)
            if row["status"] == "retired":
                raise CaseError(f"{case_id} is retired: its annotation is kept as it was")
            version = row["annotation_version"] + 1
            conn.execute(CaseAnnotationRow.__table__.insert().values(
                case_id=case_id, version=version, author=trainer, note=note,
                annotation=annotation.model_dump(mode="json"), created_at=utcnow()))
            self._set(conn, case_id, annotation_version=version)
            self._log(conn, case_id, "edited", trainer, {"version": version, "note": note})
        return self._case(case_id)

    def regrade(self, case_id: str, trainer: str, level: int, note: str = "") -> VoiceCase:
        """The trainer's level over the engine's; the engine's reasons stay beside it."""
        new_level = _level(level)
        with self.store._write() as conn:
            row = self._locked(conn, case_id)
            if row["status"] == "retired":
                raise CaseError(f"{case_id} is retired")
            grade = Grade.model_validate(row["grade"]).model_copy(update={"level": new_level, "by": trainer,
                                                                         "note": note})
            self._set(conn, case_id, level=new_level, grade=grade.model_dump(mode="json"))
            self._log(conn, case_id, "regraded", trainer, {"from": row["level"], "to": new_level, "note": note})
        return self._case(case_id)

    def retire(self, case_id: str, trainer: str, reason: str) -> VoiceCase:
        """Out of the library; the case, its versions and history are kept."""
        with self.store._write() as conn:
            row = self._locked(conn, case_id)
            if row["status"] != "accepted":
                raise CaseError(f"{case_id} is {row['status']}: only a library case is retired")
            self._set(conn, case_id, status="retired", decision_reason=reason)
            self._log(conn, case_id, "retired", trainer, {"reason": reason, "level": row["level"],
                                                          "half": row["half"]})
        return self._case(case_id)

    # -- agents ---------------------------------------------------------------------------------------

    def agents(self) -> list[AgentRecord]:
        """Every agent the store knows (from calls or a level already recorded), with level and assessments."""
        with self.store._read() as conn:
            ids = set(conn.scalars(select(CallRow.agent_id).where(CallRow.agent_id.is_not(None)).distinct()))
            ids |= set(conn.scalars(select(AgentLevelRow.agent_id)))
        return [self.agent(a) for a in sorted(ids)]

    def agent(self, agent_id: str) -> AgentRecord:
        with self.store._read() as conn:
            level = conn.scalar(select(AgentLevelRow.level).where(AgentLevelRow.agent_id == agent_id))
            rows = conn.execute(select(AgentAssessmentRow.__table__).where(AgentAssessmentRow.agent_id == agent_id)
                                .order_by(AgentAssessmentRow.attempt)).mappings().all()
        return AgentRecord(agent_id=agent_id, level=level or 0, assessments=[_assessment(r) for r in rows])

    def assessment_questions(self, level: int) -> list[AssessmentQuestion]:
        """The questions of ``level``'s test half (accepted cases), in a stable order."""
        out = []
        for summary in self.search(CaseQuery(status="accepted", level=_level(level), half="test")):
            case = self._case(summary.case_id)
            out.extend(AssessmentQuestion(case.case_id, n, q) for n, q in enumerate(case.annotation.questions))
        return sorted(out, key=lambda q: (q.case_id, q.index))

    def record_assessment(self, agent_id: str, trainer: str, results: dict[tuple[str, int], bool]) -> Assessment:
        """A trainer's pass/fail for every question of the next level's test half; at the threshold, up a level."""
        current = self.agent(agent_id).level
        if current >= self.rules.agents.max_level:
            raise CaseError(f"{agent_id} is at the top level ({current})")
        level = current + 1
        questions = self.assessment_questions(level)
        if not questions:
            raise CaseError(f"level {level} has no test questions yet: accept cases into its test half first")
        asked = {(q.case_id, q.index): q for q in questions}
        missing = sorted(set(asked) - set(results))
        unknown = sorted(set(results) - set(asked))
        if missing or unknown:
            raise CaseError(f"level {level}'s assessment: " + "; ".join(
                part for part in (f"no result for {_names(missing)}" if missing else "",
                                  f"not in the test half: {_names(unknown)}" if unknown else "") if part))
        items = [AssessmentItem(case_id=c, question=n, kind=asked[(c, n)].question.kind, passed=results[(c, n)])
                 for c, n in sorted(asked)]
        passed = sum(i.passed for i in items)
        moved_up = passed / len(items) >= self.rules.agents.pass_threshold
        now = utcnow()
        with self.store._write() as conn:
            attempt = (conn.scalar(select(func.max(AgentAssessmentRow.attempt))
                                   .where(AgentAssessmentRow.agent_id == agent_id)) or 0) + 1
            conn.execute(AgentAssessmentRow.__table__.insert().values(
                agent_id=agent_id, attempt=attempt, level=level, trainer=trainer,
                items=[i.model_dump(mode="json") for i in items], passed=passed, total=len(items),
                moved_up=moved_up, at=now))
            new_level = level if moved_up else current
            stmt = self.store._insert(AgentLevelRow.__table__).values(agent_id=agent_id, level=new_level,
                                                                      updated_at=now)
            conn.execute(stmt.on_conflict_do_update(index_elements=["agent_id"],
                                                    set_={"level": new_level, "updated_at": now}))
        return self.agent(agent_id).assessments[-1]

    # -- helpers --------------------------------------------------------------------------------------

    def _case(self, case_id: str) -> VoiceCase:
        case = self.case(case_id)
        if case is None:
            raise CaseError(f"no case {case_id}")
        return case

    def _locked(self, conn: Connection, case_id: str) -> Any:
        stmt = select(VoiceCaseRow.__table__).where(VoiceCaseRow.case_id == case_id)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()  # SQLite: BEGIN IMMEDIATE already holds the write lock
        row = conn.execute(stmt).mappings().first()
        if row is None:
            raise CaseError(f"no case {case_id}")
        return row

    @staticmethod
    def _set(conn: Connection, case_id: str, **values: Any) -> None:
        conn.execute(update(VoiceCaseRow).where(VoiceCaseRow.case_id == case_id).values(updated_at=utcnow(),
                                                                                         **values))

    @staticmethod
    def _log(conn: Connection, case_id: str, action: str, actor: str, detail: dict[str, Any]) -> None:
        position = conn.scalar(select(func.count()).where(CaseHistoryRow.case_id == case_id)) or 0
        conn.execute(CaseHistoryRow.__table__.insert().values(case_id=case_id, position=position, action=action,
                                                              actor=actor, detail=detail, at=utcnow()))

    @staticmethod
    def _history(conn: Connection, case_id: str) -> list[HistoryEntry]:
        stmt = select(CaseHistoryRow.__table__).where(CaseHistoryRow.case_id == case_id).order_by(
            CaseHistoryRow.position)
        return [HistoryEntry(position=r["position"], action=r["action"], actor=r["actor"], detail=r["detail"],
                             at=r["at"]) for r in conn.execute(stmt).mappings()]


def _level(level: int | None) -> int:
    if level is None or not 1 <= level <= 5:
        raise CaseError(f"a case's level is 1 to 5, got {level}")
    return level


def _names(keys: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{c}:{n}" for c, n in keys)


def _summary(row: Any) -> CaseSummary:
    return CaseSummary(case_id=row["case_id"], call_key=row["call_key"], call_id=row["call_id"],
                       agent_id=row["agent_id"], call_date=row["call_date"], language=row["language"],
                       kind=row["kind"], driver=row["driver"], status=row["status"], level=row["level"],
                       half=row["half"], reasons=[PromotionReason.model_validate(r) for r in row["reasons"]],
                       annotation_version=row["annotation_version"])


def _assessment(row: Any) -> Assessment:
    passed, total = row["passed"], row["total"]
    return Assessment(agent_id=row["agent_id"], attempt=row["attempt"], level=row["level"], trainer=row["trainer"],
                      items=[AssessmentItem.model_validate(i) for i in row["items"]], passed=passed, total=total,
                      share=round(passed / total, 3) if total else 0.0, moved_up=bool(row["moved_up"]), at=row["at"])


__all__ = ["AssessmentQuestion", "CaseError", "CaseRepository", "PromotionReport", "case_id_for"]
