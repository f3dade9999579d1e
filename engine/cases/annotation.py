"""A case's annotation drafted from its call's analysis: background, the turns with the customer's emotion,
intent and change and the agent's reply acts, the marks, the outcome and the training questions.

Reply acts and intents are phrase lists (``configs/cases/acts.<language>.yaml``) found by the scoring's
tolerant ``PhraseMatcher``. An agent reply's acts are ranked: the acts that mattered come first — the
calming ones (apologising, acknowledging …) in a reply that calmed the customer, the angering ones
(refusing, transferring) in a reply that angered them — then the others in the order they were said.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.cases.config import AnnotationConfig
from engine.cases.evidence import event_turn
from engine.cases.questions import draft_questions
from engine.cases.records import (
    Annotation,
    Background,
    CaseOutcome,
    Change,
    Mark,
    ReplyAct,
    TurnNote,
)
from engine.cases.texts import INTENT_PREFIX, CaseTexts
from engine.record import CallAnalysis, Turn
from engine.score.phrases import PhraseBook, PhraseMatcher
from engine.store.config import kind_matches

DEFECT_PREFIX = "defect."
HIGHLIGHT_KINDS = ["recovery", "de_escalation"]


def _hits_by_turn(matcher: PhraseMatcher, lists: Sequence[str], role: str) -> dict[int, list[tuple[float, str, str]]]:
    found: dict[int, list[tuple[float, str, str]]] = {}
    for name in lists:
        for hit in matcher.find(name, role=role):
            found.setdefault(hit.turns[0], []).append((hit.start, name, hit.words))
    return found


def _change(previous: Turn | None, turn: Turn, config: AnnotationConfig) -> Change | None:
    if turn.emotion is None:
        return None
    if previous is None or previous.emotion is None:
        return "first"
    delta = turn.emotion.valence - previous.emotion.valence
    if delta >= config.change_valence:
        return "calmer"
    if delta <= -config.change_valence:
        return "more_negative"
    return "steady"


def _ranked_acts(said: list[tuple[float, str, str]], mattering: list[str]) -> list[ReplyAct]:
    first: dict[str, tuple[float, str]] = {}
    for start, act, words in sorted(said):
        first.setdefault(act, (start, words))
    order = sorted(first, key=lambda act: (act not in mattering, first[act][0]))
    return [ReplyAct(act=act, words=first[act][1], rank=n + 1, mattered=act in mattering)
            for n, act in enumerate(order)]


def _marks(analysis: CallAnalysis, texts: CaseTexts) -> list[Mark]:
    marks = []
    for event in analysis.events:
        if event.kind.startswith(DEFECT_PREFIX):
            kind = "defect"
        elif kind_matches(event.kind, HIGHLIGHT_KINDS):
            kind = "highlight"
        else:
            continue
        marks.append(Mark(kind=kind, check=event.kind, turn=event_turn(analysis, event), start=event.start,  # type: ignore[arg-type]
                          end=event.end, severity=event.severity, label=texts.event(event.kind, event.detail),
                          detail=event.detail))
    return marks


def _outcome(analysis: CallAnalysis, notes: list[TurnNote], config: AnnotationConfig, texts: CaseTexts
             ) -> CaseOutcome:
    resolved: bool | None = None
    items = analysis.scorecard.items if analysis.scorecard else []
    scored = [i for i in items if i.item_id in config.resolution_items and not i.explanation.startswith("not assessed")]
    if scored:
        resolved = any(i.passed for i in scored)
    if any(e.kind == "defect.unresolved_escalation" for e in analysis.events):
        resolved = False
    last = [n for n in notes if n.role == "customer" and n.valence is not None][-config.outcome_turns:]
    words = " ".join(n.text for n in last[-1:])
    left = last[-1].emotion if last else "unknown"
    valence = round(sum(n.valence for n in last if n.valence is not None) / len(last), 3) if last else None
    said = {True: texts.outcome.resolved, False: texts.outcome.unresolved, None: texts.outcome.unknown}[resolved]
    space = "" if texts.language == "zh" else " "
    summary = f"{said}{space}{texts.outcome.left.format(emotion=texts.label(left), words=words)}" if last else said
    return CaseOutcome(resolved=resolved, customer_left=left, valence=valence, summary=summary)


def _background(analysis: CallAnalysis, notes: list[TurnNote], driver: str, config: AnnotationConfig,
                texts: CaseTexts) -> Background:
    customer = [n for n in notes if n.role == "customer"]
    # The customer's own account of the problem: turns that complain, ask or request, else the first words.
    telling = [n for n in customer if {"intent_complaining", "intent_requesting", "intent_asking"} & set(n.intent)]
    chosen = (telling or customer)[: config.background_turns]
    joiner = "" if analysis.transcript and analysis.transcript.language == "zh" else " "
    quote = joiner.join(n.text.strip() for n in chosen)
    if len(quote) > config.background_chars:
        quote = quote[: config.background_chars - 1].rstrip() + "…"
    return Background(driver=driver, situation=texts.background.format(driver=driver, quote=quote),
                      quote_turns=[n.index for n in chosen])


def draft_annotation(analysis: CallAnalysis, driver: str, config: AnnotationConfig, texts: CaseTexts,
                     acts: PhraseBook) -> Annotation:
    """The engine's first draft of a case's annotation (the trainer edits it into later versions)."""

    matcher = PhraseMatcher(analysis, acts)
    intent_lists = [k for k in acts.lists if k.startswith(INTENT_PREFIX)]
    act_lists = [k for k in acts.lists if not k.startswith(INTENT_PREFIX)]
    intents = _hits_by_turn(matcher, intent_lists, "customer")
    said = _hits_by_turn(matcher, act_lists, "agent")
    calming = {event_turn(analysis, e, "agent") for e in analysis.events
               if kind_matches(e.kind, config.calming_events)}
    angering = {event_turn(analysis, e, "agent") for e in analysis.events
                if kind_matches(e.kind, config.angering_events)}
    notes: list[TurnNote] = []
    previous_customer: Turn | None = None
    for index, turn in enumerate(analysis.turns):
        emotion = turn.emotion
        note = TurnNote(index=index, role=turn.role, speaker=turn.speaker, start=turn.start, end=turn.end,
                        text=turn.text, emotion=emotion.label if emotion else "unknown",
                        valence=round(emotion.valence, 3) if emotion else None)
        if turn.role == "customer":
            note.intent = list(dict.fromkeys(name for _, name, _ in sorted(intents.get(index, []))))
            note.change = _change(previous_customer, turn, config)
            previous_customer = turn
        elif turn.role == "agent":
            mattering = (config.calming_acts if index in calming else
                         config.angering_acts if index in angering else [])
            note.acts = _ranked_acts(said.get(index, []), mattering)
        notes.append(note)
    language = analysis.transcript.language if analysis.transcript else texts.language
    return Annotation(
        language=language,
        background=_background(analysis, notes, driver, config, texts),
        turns=notes,
        marks=_marks(analysis, texts),
        outcome=_outcome(analysis, notes, config, texts),
        questions=draft_questions(analysis, notes, config, texts),
    )
