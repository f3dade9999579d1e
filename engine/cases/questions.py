"""Training questions of the six kinds the practice uses, each only where the call shows it.

- ``customer_tone_intent``: at the customer's most negative turn (when a turn is negative at all);
- ``agent_answer_fault``: at the agent turn of each fault (prohibited phrase, angering reply, cut-in …);
- ``how_angered``: at the agent reply that angered the customer (``defect.agent_angered_customer``);
- ``how_calmed``: at the agent reply that calmed them (``recovery.customer_calmed``, ``de_escalation``);
- ``agent_deterioration``: at the agent turn where composure was lost;
- ``agent_self_control``: at the agent's reply to the customer's most negative turn, when the agent stayed
  calm there and never lost composure in the call.

The reference answer is drawn from the evidence: the words said, the emotions judged, the reply's acts
and the detector's finding, in the call's language (``configs/cases/texts.<language>.yaml``).
"""

from __future__ import annotations

from engine.cases.config import AnnotationConfig
from engine.cases.evidence import event_turn, turn_of
from engine.cases.records import Question, QuestionKind, TurnNote
from engine.cases.texts import CaseTexts
from engine.record import CallAnalysis, Event, Evidence
from engine.score.context import clock
from engine.store.config import kind_matches


def _evidence(note: TurnNote) -> Evidence:
    return Evidence(start=note.start, end=note.end, speaker=note.speaker, words=note.text)


def _acts(note: TurnNote, texts: CaseTexts) -> str:
    return texts.join([texts.label(a.act) for a in note.acts]) or texts.label("no_act")


def _intent(note: TurnNote, texts: CaseTexts) -> str:
    return texts.join([texts.label(i) for i in note.intent]) or texts.label("intent_none")


def _question(kind: QuestionKind, note: TurnNote, texts: CaseTexts, extra: list[TurnNote] | None = None,
              **fields: str) -> Question:
    text = texts.questions[kind]
    values = {"time": clock(note.start), "words": note.text.strip(), "emotion": texts.label(note.emotion),
              "acts": _acts(note, texts), "intent": _intent(note, texts), **fields}
    return Question(kind=kind, turn=note.index, time=note.start, prompt=text.prompt.format(**values),
                    reference_answer=text.answer.format(**values),
                    evidence=[_evidence(note), *(_evidence(n) for n in extra or [])])


def _next(notes: list[TurnNote], index: int, role: str) -> TurnNote | None:
    return next((n for n in notes[index + 1:] if n.role == role), None)


def _reaction(analysis: CallAnalysis, event: Event, notes: list[TurnNote], agent: int) -> TurnNote | None:
    """The customer turn the event names after the agent's reply (else the customer's next turn)."""
    customer = [i for e in event.evidence if (i := turn_of(analysis, e, "customer")) is not None and i > agent]
    return notes[customer[-1]] if customer else _next(notes, agent, "customer")


def _worst_customer_turn(notes: list[TurnNote], config: AnnotationConfig) -> TurnNote | None:
    judged = [n for n in notes if n.role == "customer" and config.negative(n.emotion, n.valence)]
    return min(judged, key=lambda n: (n.valence, n.start)) if judged else None


def draft_questions(analysis: CallAnalysis, notes: list[TurnNote], config: AnnotationConfig,
                    texts: CaseTexts) -> list[Question]:
    """Every question the call supports, in time order (one per kind and turn)."""
    questions: dict[tuple[str, int], Question] = {}

    def add(question: Question) -> None:
        questions.setdefault((question.kind, question.turn), question)

    worst = _worst_customer_turn(notes, config)
    if worst is not None:
        add(_question("customer_tone_intent", worst, texts))
    deteriorated = False
    for event in analysis.events:
        agent = event_turn(analysis, event, "agent")
        if agent is None:
            continue
        note = notes[agent]
        label = texts.event(event.kind, event.detail)
        if kind_matches(event.kind, config.fault_events):
            add(_question("agent_answer_fault", note, texts, detail=label))
        if kind_matches(event.kind, config.angering_events):
            reaction = _reaction(analysis, event, notes, agent)
            if reaction is not None:
                add(_question("how_angered", note, texts, [reaction], reaction=reaction.text.strip(),
                              emotion=texts.label(reaction.emotion)))
        if kind_matches(event.kind, config.calming_events):
            reaction = _reaction(analysis, event, notes, agent)
            if reaction is not None:
                add(_question("how_calmed", note, texts, [reaction], reaction=reaction.text.strip(),
                              emotion=texts.label(reaction.emotion)))
        if kind_matches(event.kind, config.deterioration_events):
            deteriorated = True
            add(_question("agent_deterioration", note, texts, detail=label))
    if worst is not None and not deteriorated:
        reply = _next(notes, worst.index, "agent")
        if (reply is not None and reply.valence is not None and reply.valence > config.self_control_valence
                and not config.negative(reply.emotion, reply.valence)):
            add(_question("agent_self_control", reply, texts, [worst],
                          customer_emotion=texts.label(worst.emotion)))
    return sorted(questions.values(), key=lambda q: (q.time, q.kind))
