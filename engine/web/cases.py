"""The voice-case pages' data: the queue and the library, a case page, its clip, a trainer's edit, agents.

Nothing here knows about HTTP (``engine.web.case_routes`` does): each function takes the library
(``CaseRepository``) and already-read parameters and returns data the page and its JSON twin share.

Two rules of privacy and of assessment live here:
- the clip is cut from the redacted copy when redaction was on (never the original, even when the copy is
  missing); when redaction was off the original carries the parties' names and numbers, so its clip is
  played only to a signed-in reviewer (a trainer), the server's equivalent of the export's ``--with-audio``;
- in the test half the case page and its JSON never carry a reference answer (nor do a candidate's whose
  seeded half will be the test half); a reader who posts answers gets the references back beside the answers
  they wrote, for those questions only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from engine.cases.clip import AudioClip, clip_source, clip_window, cut_clip
from engine.cases.config import CaseKind
from engine.cases.export import Privacy, case_moments, marks_by_turn, trajectory_figure
from engine.cases.library import case_half
from engine.cases.records import (
    AgentRecord,
    Annotation,
    CaseQuery,
    CaseStatus,
    CaseSummary,
    Half,
    LevelStatus,
    Mark,
    VoiceCase,
)
from engine.cases.repository import AssessmentQuestion, CaseRepository
from engine.cases.texts import load_texts
from engine.record import CallAnalysis
from engine.web.views import BadParameter, day_param

STATUSES: tuple[str, ...] = get_args(CaseStatus)
HALVES: tuple[str, ...] = get_args(Half)
KINDS: tuple[str, ...] = get_args(CaseKind)
LEVELS = (1, 2, 3, 4, 5)
ANY = "any"  # status=any lists every case; no status lists the candidates queue
MAX_TEXT = 4000  # longest text a trainer's form field may hold


# ---- the queue and the library ------------------------------------------------------------------------

def parse_level(value: str, name: str = "level") -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or int(value) not in LEVELS:
        raise BadParameter(f"{name}: use a level from 1 to 5, not {value!r}")
    return int(value)


def _choice(params: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = params.get(name, "").strip() or None
    if value is not None and value not in allowed:
        raise BadParameter(f"{name}: use {', '.join(allowed)}, not {value!r}")
    return value


def parse_case_query(params: dict[str, str]) -> CaseQuery:
    """A library search from query parameters (no status: the candidates); ``BadParameter`` names a wrong one."""
    status = _choice({"status": params.get("status", "") or "candidate"}, "status", (*STATUSES, ANY))
    text = {k: (params.get(k, "").strip() or None) for k in ("driver", "agent", "language")}
    return CaseQuery(status=None if status == ANY else status,  # type: ignore[arg-type]
                     level=parse_level(params.get("level", "")),
                     half=_choice(params, "half", HALVES), kind=_choice(params, "kind", KINDS),  # type: ignore[arg-type]
                     driver=text["driver"], agent_id=text["agent"], language=text["language"],
                     day=day_param(params, "day"))


@dataclass
class CaseList:
    """What ``/cases`` shows: the cases the query matches and how full each level of the library is."""

    query: CaseQuery
    status: str
    cases: list[CaseSummary]
    library: list[LevelStatus]
    choices: dict[str, tuple[Any, ...]] = field(default_factory=lambda: {
        "status": (*STATUSES, ANY), "level": LEVELS, "half": HALVES, "kind": KINDS})


def case_list(repo: CaseRepository, params: dict[str, str]) -> CaseList:
    query = parse_case_query(params)
    return CaseList(query=query, status=query.status or ANY, cases=repo.search(query),
                    library=repo.library_status())


# ---- the clip -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClipSpan:
    """Where the case's clip sits in the call (the player's offset), and what it is cut from."""

    start: float
    end: float
    source: str


def _resolved(path: str, audio_root: Path) -> str:
    found = Path(path)
    return str(found if found.is_absolute() else audio_root / found)


def with_audio_root(analysis: CallAnalysis, audio_root: Path) -> CallAnalysis:
    """The analysis with its recording paths taken from ``audio_root`` when relative (as ``/audio`` does)."""
    call = analysis.call.model_copy(update={"source": _resolved(analysis.call.source, audio_root)})
    redaction = analysis.redaction
    if redaction is not None and redaction.audio:
        redaction = redaction.model_copy(update={"audio": _resolved(redaction.audio, audio_root)})
    return analysis.model_copy(update={"call": call, "redaction": redaction})


def may_play_original(analysis: CallAnalysis, reviewer: str | None) -> bool:
    """The original recording (redaction off) plays only for a signed-in reviewer; redacted calls never."""
    return analysis.redaction is None and reviewer is not None


def clip_span(repo: CaseRepository, case: VoiceCase, analysis: CallAnalysis, reviewer: str | None
              ) -> ClipSpan | None:
    """The clip this reader may play, without cutting it (None when there is none for them)."""
    found = clip_source(analysis, may_play_original(analysis, reviewer))
    if found is None:
        return None
    start, end = clip_window(case_moments(case), analysis.call.duration, repo.rules.export)
    return ClipSpan(round(start, 3), round(end, 3), found[1])


def clip_privacy(analysis: CallAnalysis | None, clip: ClipSpan | None, reviewer: str | None) -> Privacy:
    """What the page says about names, numbers and the audio."""
    if analysis is None:
        return Privacy(False, "no clip: the call's analysis is no longer in the store",
                       "The analysis this case was drafted from is gone; the annotation is what was stored.")
    if analysis.redaction is not None:
        return Privacy.redaction_on(analysis, clip is not None, "on this server")
    if clip:
        audio = "original clip (played to signed-in reviewers only)"
    elif reviewer is None:
        audio = "no clip: redaction was off, so the original audio is played only to a signed-in reviewer"
    else:
        audio = "no clip: the original recording is not on this server"
    return Privacy.redaction_off(audio, "played")


class ClipCache:
    """Cut clips, kept while their case's annotation is unchanged: a player asks for ranges many times."""

    def __init__(self, size: int = 16) -> None:
        self._clips: OrderedDict[tuple[str, int, bool], AudioClip | None] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def clip(self, repo: CaseRepository, case: VoiceCase, analysis: CallAnalysis, allow_original: bool
             ) -> AudioClip | None:
        key = (case.case_id, case.annotation_version, allow_original)
        with self._lock:
            if key in self._clips:
                self._clips.move_to_end(key)
                return self._clips[key]
        clip = cut_clip(analysis, case_moments(case), repo.rules.export, allow_original=allow_original)
        with self._lock:
            self._clips[key] = clip
            while len(self._clips) > self._size:
                self._clips.popitem(last=False)
        return clip


# ---- the case page ------------------------------------------------------------------------------------

def destined_half(repo: CaseRepository, case: VoiceCase) -> str:
    """The case's half, or for a candidate the half it will have: the split is a seeded hash of the case id, so
    a candidate's references must not be read before it joins the test half."""
    return case.half or case_half(case.case_id, repo.rules.library)


def withhold_answers(case: VoiceCase, answers: dict[int, str]) -> VoiceCase:
    """The case as a test-half reader sees it: references only beside the answers they submitted."""
    questions = [q if n in answers else q.model_copy(update={"reference_answer": ""})
                 for n, q in enumerate(case.annotation.questions)]
    return case.model_copy(update={"annotation": case.annotation.model_copy(update={"questions": questions})})


@dataclass
class CasePage:
    """One case as the page and ``/api/cases/<id>`` show it (test-half references withheld)."""

    case: VoiceCase
    versions: list[dict[str, Any]]
    clip: ClipSpan | None
    privacy: Privacy
    questions_mode: str  # "shown" | "form" (test half: answers posted to the server)
    answers: dict[int, str]
    references_withheld: bool


def case_page(repo: CaseRepository, case_id: str, reviewer: str | None, audio_root: Path,
              answers: dict[int, str] | None = None) -> tuple[CasePage, dict[str, Any] | None] | None:
    """A case's page for this reader and its trajectories' figure (None when there is no such case)."""
    case = repo.case(case_id)
    if case is None:
        return None
    answers = answers or {}
    stored = repo.analysis(case)
    analysis = with_audio_root(stored, audio_root) if stored is not None else None
    clip = clip_span(repo, case, analysis, reviewer) if analysis is not None else None
    versions = [{"version": v.version, "author": v.author, "note": v.note, "created_at": v.created_at}
                for v in repo.annotation_versions(case_id)]
    test = destined_half(repo, case) == "test"
    page = CasePage(case=withhold_answers(case, answers) if test else case, versions=versions, clip=clip,
                    privacy=clip_privacy(analysis, clip, reviewer), questions_mode="form" if test else "shown",
                    answers=answers, references_withheld=test and len(answers) < len(case.annotation.questions))
    return page, trajectory_figure(analysis) if analysis is not None else None


def page_context(repo: CaseRepository, page: CasePage, figure: dict[str, Any] | None, clip_url: str
                 ) -> dict[str, Any]:
    """What the shared body (``case_body.html``) needs besides the case."""
    marks: dict[int, list[Mark]] = marks_by_turn(page.case)
    return {"case": page.case, "annotation": page.case.annotation, "marks_by_turn": marks,
            "labels": load_texts(page.case.annotation.language, repo.config).labels, "privacy": page.privacy,
            "clip": page.clip, "audio_url": clip_url if page.clip else None, "preload": "metadata",
            "questions_mode": page.questions_mode, "answers": page.answers,
            "plots": {"trajectories": figure} if figure else {}}


def submitted_answers(form: dict[str, Any], questions: int) -> dict[int, str]:
    """``answer:<n>`` fields with text, by question; ``BadParameter`` when none has any."""
    answers = {}
    for n in range(questions):
        text = str(form.get(f"answer:{n}", "")).strip()
        if len(text) > MAX_TEXT:
            raise BadParameter(f"answer {n + 1}: at most {MAX_TEXT} characters")
        if text:
            answers[n] = text
    if not answers:
        raise BadParameter("write an answer to at least one question first: a reference answer is shown "
                           "beside your own")
    return answers


# ---- the trainer's actions -------------------------------------------------------------------------------

def required(form: dict[str, Any], name: str) -> str:
    """A form field that must say something (a rejection's or a retirement's reason)."""
    value = optional(form, name)
    if not value:
        raise BadParameter(f"{name}: required: say why")
    return value


def optional(form: dict[str, Any], name: str) -> str:
    value = str(form.get(name, "")).strip()
    if len(value) > MAX_TEXT:
        raise BadParameter(f"{name}: at most {MAX_TEXT} characters")
    return value


def _text(form: dict[str, Any], name: str, current: str, required: bool = False) -> str:
    if name not in form:
        return current
    value = str(form[name]).strip()
    if len(value) > MAX_TEXT:
        raise BadParameter(f"{name}: at most {MAX_TEXT} characters")
    if required and not value:
        raise BadParameter(f"{name}: cannot be empty")
    return value


def _resolved_flag(form: dict[str, Any], current: bool | None) -> bool | None:
    if "resolved" not in form:
        return current
    value = str(form["resolved"]).strip()
    choices = {"yes": True, "no": False, "unknown": None}
    if value not in choices:
        raise BadParameter("resolved: use yes, no or unknown")
    return choices[value]


def edited_annotation(current: Annotation, form: dict[str, Any]) -> Annotation:
    """The current annotation with the trainer's form applied; fields left out keep their value.

    ``situation``, ``driver``, ``outcome_summary``, ``resolved`` (yes / no / unknown), ``note:<turn>``,
    ``prompt:<question>`` and ``reference:<question>``. ``BadParameter`` when nothing changes.
    """
    background = current.background.model_copy(update={
        "situation": _text(form, "situation", current.background.situation, required=True),
        "driver": _text(form, "driver", current.background.driver)})
    outcome = current.outcome.model_copy(update={
        "summary": _text(form, "outcome_summary", current.outcome.summary),
        "resolved": _resolved_flag(form, current.outcome.resolved)})
    turns = [t.model_copy(update={"note": _text(form, f"note:{t.index}", t.note)}) for t in current.turns]
    questions = [q.model_copy(update={"prompt": _text(form, f"prompt:{n}", q.prompt, required=True),
                                      "reference_answer": _text(form, f"reference:{n}", q.reference_answer,
                                                                required=True)})
                 for n, q in enumerate(current.questions)]
    edited = Annotation.model_validate(current.model_copy(update={
        "background": background, "outcome": outcome, "turns": turns, "questions": questions}).model_dump())
    if edited == current:
        raise BadParameter("nothing to save: change the background, the outcome, a note, a question or an answer")
    return edited


# ---- agents and their assessments ---------------------------------------------------------------------

@dataclass
class AgentPage:
    """An agent's level and attempts, and the next level's test questions a trainer marks pass or fail."""

    agent: AgentRecord
    next_level: int | None
    questions: list[AssessmentQuestion]
    pass_threshold: float


def agent_page(repo: CaseRepository, agent_id: str, reviewer: str | None) -> AgentPage | None:
    """None when the store knows no such agent. Only a signed-in trainer is given the questions (with their
    reference answers): an agent reading the page must not see the test they are about to sit."""
    if agent_id not in {a.agent_id for a in repo.agents()}:
        return None
    agent = repo.agent(agent_id)
    next_level = agent.level + 1 if agent.level < repo.rules.agents.max_level else None
    questions = repo.assessment_questions(next_level) if next_level is not None and reviewer else []
    return AgentPage(agent=agent, next_level=next_level, questions=questions,
                     pass_threshold=repo.rules.agents.pass_threshold)


def assessment_results(form: dict[str, Any], questions: list[AssessmentQuestion]) -> dict[tuple[str, int], bool]:
    """``result:<case id>:<n>`` = pass / fail for every question; ``BadParameter`` names those left out."""
    results, missing = {}, []
    for q in questions:
        value = str(form.get(f"result:{q.case_id}:{q.index}", "")).strip()
        if value not in ("pass", "fail"):
            missing.append(f"{q.case_id}:{q.index}")
            continue
        results[(q.case_id, q.index)] = value == "pass"
    if not questions:
        raise BadParameter("the next level has no test questions yet: accept cases into its test half first")
    if missing:
        raise BadParameter(f"mark every question pass or fail; missing: {', '.join(missing)}")
    return results
