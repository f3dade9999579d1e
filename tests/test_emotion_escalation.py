"""Escalation, de-escalation and agent deterioration from constructed turns with given emotions."""

from __future__ import annotations

from engine.emotion.config import EscalationConfig
from engine.emotion.escalation import emotion_events
from engine.record import Emotion, Turn

CONFIG = EscalationConfig()
CALM = (0.05, 0.3, "neutral")
ANGRY = (-0.75, 0.9, "angry")
FRUSTRATED = (-0.45, 0.5, "frustrated")


def call(*script: tuple[str, tuple[float, float, str]], length: float = 3.0, gap: float = 0.5) -> list[Turn]:
    """Alternating turns of ``length`` seconds; each with (valence, arousal, label)."""
    turns, t = [], 0.0
    for role, (valence, arousal, label) in script:
        turns.append(Turn(speaker="A" if role == "agent" else "C", role=role, start=t, end=t + length,  # type: ignore[arg-type]
                          text=f"{role} at {t:g}", channel=0 if role == "agent" else 1,
                          emotion=Emotion(label=label, valence=valence, arousal=arousal, confidence=0.8)))
        t += length + gap
    return turns


def kinds(events) -> list[str]:
    return [e.kind for e in events]


def test_customer_rising_to_anger_is_an_escalation_with_its_turns_as_evidence():
    turns = call(("agent", CALM), ("customer", CALM), ("agent", CALM), ("customer", ANGRY), ("agent", CALM),
                 ("customer", ANGRY), ("agent", CALM), ("customer", CALM), ("agent", CALM))
    events = emotion_events(turns, CONFIG)
    assert kinds(events) == ["escalation", "de_escalation"]
    escalation, calmed = events
    assert [ev.start for ev in escalation.evidence] == [turns[3].start, turns[5].start]
    assert (escalation.start, escalation.end, escalation.speaker) == (turns[3].start, turns[5].end, "C")
    assert escalation.severity == "high"
    # The agent's turn between the last angry and the calm customer turn is the turning point.
    assert calmed.evidence[0].start == turns[6].start and calmed.evidence[0].speaker == "A"
    assert calmed.evidence[1].start == turns[7].start
    assert calmed.speaker == "C" and calmed.start == turns[6].start


def test_an_all_calm_call_has_no_emotion_events():
    turns = call(*[(role, CALM) for role in ["agent", "customer"] * 5])
    assert emotion_events(turns, CONFIG) == []


def test_a_small_dip_below_the_thresholds_is_not_an_escalation():
    slightly = (-0.1, 0.45, "neutral")
    turns = call(("customer", CALM), ("agent", CALM), ("customer", slightly), ("agent", CALM), ("customer", CALM))
    assert emotion_events(turns, CONFIG) == []


def test_thresholds_are_configurable():
    turns = call(("customer", CALM), ("agent", CALM), ("customer", FRUSTRATED), ("agent", CALM))
    assert kinds(emotion_events(turns, CONFIG)) == ["escalation"]
    strict = CONFIG.model_copy(update={"valence_drop": 0.9, "arousal_rise": 0.9})
    assert emotion_events(turns, strict) == []


def test_mild_escalation_is_low_severity_and_a_long_one_rises():
    mild = call(("customer", CALM), ("agent", CALM), ("customer", FRUSTRATED))
    long = call(("customer", CALM), ("agent", CALM), *[("customer", ANGRY)] * 4)
    assert emotion_events(mild, CONFIG)[0].severity == "low"
    assert emotion_events(long, CONFIG)[0].severity == "high"
    assert len(emotion_events(long, CONFIG)[0].evidence) == 4


def test_arousal_rising_into_anger_escalates_even_when_valence_barely_moves():
    heated = (-0.15, 0.9, "angry")
    turns = call(("customer", CALM), ("agent", CALM), ("customer", heated))
    assert kinds(emotion_events(turns, CONFIG)) == ["escalation"]


def test_customer_calming_without_an_agent_turn_is_not_a_de_escalation():
    turns = call(("agent", CALM), ("customer", ANGRY), ("customer", CALM))
    assert "de_escalation" not in kinds(emotion_events(turns, CONFIG))


def test_a_calm_that_breaks_at_once_is_not_a_de_escalation():
    turns = call(("customer", ANGRY), ("agent", CALM), ("customer", CALM), ("agent", CALM), ("customer", ANGRY))
    assert "de_escalation" not in kinds(emotion_events(turns, CONFIG))
    assert "de_escalation" in kinds(emotion_events(turns, CONFIG.model_copy(update={"calm_must_hold": False})))


def test_a_one_word_fragment_does_not_start_an_escalation():
    turns = call(("customer", CALM), ("agent", CALM))
    turns.append(Turn(speaker="C", role="customer", start=8.0, end=8.3, text="no",
                      emotion=Emotion(label="angry", valence=-0.8, arousal=0.9, confidence=0.8)))
    assert emotion_events(turns, CONFIG) == []


AGREE = {"text": {"label": "angry", "p_angry": 0.8}, "voice": {"label": "angry", "arousal": 0.85}}
WORDS_ONLY = {"text": {"label": "angry", "p_angry": 0.8}, "voice": {"label": "neutral", "arousal": 0.3}}


def _with_signals(turn: Turn, signals: dict) -> None:
    assert turn.emotion is not None
    turn.emotion = turn.emotion.model_copy(update={"signals": signals})


def test_agent_turning_hostile_is_agent_deterioration():
    turns = call(("agent", CALM), ("customer", CALM), ("agent", CALM), ("customer", FRUSTRATED),
                 ("agent", ANGRY), ("customer", FRUSTRATED), ("agent", CALM))
    _with_signals(turns[4], AGREE)
    deteriorations = [e for e in emotion_events(turns, CONFIG) if e.kind == "agent_deterioration"]
    assert len(deteriorations) == 1
    assert deteriorations[0].start == turns[4].start and deteriorations[0].speaker == "A"
    assert [ev.start for ev in deteriorations[0].evidence] == [turns[4].start]
    assert deteriorations[0].signals["text"].startswith("angry") and deteriorations[0].signals["voice"]
    assert deteriorations[0].confidence == 0.8 and deteriorations[0].severity == "high"


def test_one_hostile_agent_turn_heard_by_one_signal_is_not_deterioration():
    turns = call(("agent", CALM), ("customer", CALM), ("agent", CALM), ("customer", CALM),
                 ("agent", ANGRY), ("customer", CALM), ("agent", CALM))
    _with_signals(turns[4], WORDS_ONLY)
    assert "agent_deterioration" not in kinds(emotion_events(turns, CONFIG))


def test_hostility_sustained_over_two_agent_turns_is_deterioration_without_agreement():
    turns = call(("agent", CALM), ("customer", CALM), ("agent", CALM), ("customer", CALM),
                 ("agent", ANGRY), ("agent", ANGRY), ("customer", CALM))
    for turn in turns[4:6]:
        _with_signals(turn, WORDS_ONLY)
    events = [e for e in emotion_events(turns, CONFIG) if e.kind == "agent_deterioration"]
    assert len(events) == 1 and len(events[0].evidence) == 2
    assert "sustained over 2 turns" in events[0].detail


def test_deterioration_severity_follows_confidence():
    quiet = call(("agent", CALM), ("customer", CALM), ("agent", CALM), ("customer", CALM),
                 ("agent", ANGRY), ("customer", CALM))
    _with_signals(quiet[4], AGREE)
    assert quiet[4].emotion is not None
    quiet[4].emotion = quiet[4].emotion.model_copy(update={"confidence": 0.4})
    event = next(e for e in emotion_events(quiet, CONFIG) if e.kind == "agent_deterioration")
    assert event.severity == "low"
    quiet[4].emotion = quiet[4].emotion.model_copy(update={"confidence": 0.3})
    assert "agent_deterioration" not in kinds(emotion_events(quiet, CONFIG))  # below agent_min_confidence


def test_agent_empathy_read_as_sad_is_not_deterioration():
    sorry = (-0.5, 0.25, "sad")
    turns = call(("agent", CALM), ("customer", FRUSTRATED), ("agent", sorry), ("customer", CALM))
    assert "agent_deterioration" not in kinds(emotion_events(turns, CONFIG))


def test_customer_turning_angry_from_calm_escalates_however_small_the_step():
    mildly_angry = (-0.2, 0.45, "angry")
    turns = call(("customer", CALM), ("agent", CALM), ("customer", mildly_angry))
    assert kinds(emotion_events(turns, CONFIG)) == ["escalation"]


def test_agent_loud_greeting_read_angry_by_words_alone_is_not_deterioration():
    loud_hello = (-0.1, 0.8, "angry")
    turns = call(("agent", CALM), ("customer", CALM), ("agent", loud_hello), ("customer", CALM))
    assert "agent_deterioration" not in kinds(emotion_events(turns, CONFIG))


def test_explicitly_hostile_words_after_a_calm_turn_escalate_however_small_the_step():
    # "什么？太过分了，真不像话！" in a voice with no anger: frustrated, valence -0.40 after -0.07.
    turns = call(("customer", (-0.07, 0.3, "neutral")), ("agent", CALM), ("customer", (-0.40, 0.3, "frustrated")))
    assert emotion_events(turns, CONFIG) == []  # the step alone (0.33) is under the valence drop
    hostile = turns[2].emotion.model_copy(update={"signals": {"text": {"label": "frustrated", "hostile": 1.0}}})
    turns[2] = turns[2].model_copy(update={"emotion": hostile})
    assert kinds(emotion_events(turns, CONFIG)) == ["escalation"]
    assert emotion_events(turns, CONFIG.model_copy(update={"hostile_words_escalate": False})) == []
