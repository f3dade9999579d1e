"""Escalation, de-escalation and agent deterioration, from the per-turn emotions of a call.

- **escalation**: a customer turn that is negative and whose valence fell (or arousal rose) beyond the
  thresholds against a calmer customer turn at most ``lookback_turns`` back (or that turned angry from a
  turn that was not negative). The episode goes on while
  the customer's turns stay negative; its turns are the evidence, the event spans them, and the
  severity follows the peak turn's intensity (negativity and arousal) and how long it lasted.
- **de_escalation**: a negative customer turn followed by one that is no longer negative and clearly
  calmer, with an agent turn in between: that agent turn is the turning point (first evidence; the
  calmer customer turn is the second). ``calm_must_hold`` ignores a calm that breaks again within the next
  ``calm_hold_turns`` customer turns, and fragments shorter than ``calm_min_seconds`` neither calm nor break.
- **agent_deterioration**: agent turns well below the agent's own level (the mean of their first turns,
  but never worse than a calm, neutral agent) in valence, with a hostile label, or well above it in
  arousal while negative, judged confidently. A run of such turns is one event, raised only on
  converging evidence: the words and the voice agree on a turn of it, or it lasts two turns or more.

Turns that are very short or judged with little confidence neither start nor end anything: a one-word
"no" read as angry by a noisy signal must not make an episode.

Event fields follow ``engine.score.emotion_cues``: an escalation starts at its first escalated customer
turn; a de-escalation starts at the turning point (or the end of the negative turn, if the agent cut in
before it ended) and its speaker is the customer; an agent deterioration starts at its first agent turn.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.emotion.config import EscalationConfig
from engine.record import Emotion, Event, Evidence, Turn

KINDS = ("escalation", "de_escalation", "agent_deterioration")


def _evidence(turn: Turn) -> Evidence:
    return Evidence(start=turn.start, end=turn.end, speaker=turn.speaker, words=turn.text)


def _emotion(turn: Turn) -> Emotion:
    assert turn.emotion is not None
    return turn.emotion


def _usable(turn: Turn, config: EscalationConfig) -> bool:
    return (turn.emotion is not None and turn.emotion.confidence >= config.min_confidence
            and turn.end - turn.start >= config.min_turn_seconds)


def intensity(emotion: Emotion) -> float:
    """How heated a turn is, in [0, 1]: the mean of its negativity and its arousal."""
    return (max(0.0, -emotion.valence) + emotion.arousal) / 2


def severity(peak: Emotion, turns: int, config: EscalationConfig) -> str:
    """The highest configured severity whose level the peak's intensity (plus persistence) reaches."""
    return _band(intensity(peak) + config.persistence_bonus * max(turns - 1, 0), config.severity_levels)


def _band(score: float, levels: dict[str, float]) -> str:
    """The highest severity whose level ``score`` reaches ("info" below all of them)."""
    reached = [(level, name) for name, level in levels.items() if score >= level]
    return max(reached)[1] if reached else "info"


def _negative(emotion: Emotion, config: EscalationConfig) -> bool:
    return emotion.valence <= config.negative_valence or emotion.label in config.negative_labels


def _rise(reference: Emotion, now: Emotion, config: EscalationConfig) -> float:
    """How far past the thresholds ``now`` is from ``reference`` (>= 1 means escalated).

    Turning angry (or explicitly hostile in words) from a turn that was not negative is an escalation
    whatever the size of the step.
    """
    rise = max((reference.valence - now.valence) / config.valence_drop,
               (now.arousal - reference.arousal) / config.arousal_rise)
    hostile = config.hostile_words_escalate and bool(now.signals.get("text", {}).get("hostile"))
    if (now.label in config.escalation_labels or hostile) and not _negative(reference, config):
        rise = max(rise, 1.0)
    return rise


def _fmt(emotion: Emotion) -> str:
    return f"valence {emotion.valence:+.2f}, arousal {emotion.arousal:.2f}"


def _episode_event(reference: Turn, members: list[Turn], config: EscalationConfig) -> Event:
    peak = max(members, key=lambda t: intensity(_emotion(t)))
    ref, top = _emotion(reference), _emotion(peak)
    return Event(
        kind="escalation", severity=severity(top, len(members), config),  # type: ignore[arg-type]
        start=members[0].start, end=members[-1].end, speaker=members[0].speaker,
        evidence=[_evidence(t) for t in members],
        detail=f"customer from {_fmt(ref)} ('{ref.label}' at {reference.start:.1f} s) to {_fmt(top)} "
               f"('{top.label}' at {peak.start:.1f} s) over {len(members)} turn(s)",
        confidence=round(top.confidence, 4), signals=signal_summary(top),
    )


def escalations(customer: Sequence[Turn], config: EscalationConfig) -> list[Event]:
    """Escalation episodes of one customer's turns (in time order)."""
    judged = [t for t in customer if _usable(t, config)]
    events: list[Event] = []
    reference: Turn | None = None
    members: list[Turn] = []
    for pos, turn in enumerate(judged):
        now = _emotion(turn)
        if members:
            if _negative(now, config):
                members.append(turn)
                continue
            assert reference is not None
            events.append(_episode_event(reference, members, config))
            members = []
        if not _negative(now, config):
            continue
        window = judged[max(0, pos - config.lookback_turns):pos]
        candidates = [(r, _rise(_emotion(r), now, config)) for r in window]
        candidates = [(r, score) for r, score in candidates if score >= 1.0]
        if candidates:
            reference = max(candidates, key=lambda c: c[1])[0]
            members = [turn]
    if members and reference is not None:
        events.append(_episode_event(reference, members, config))
    return events


def de_escalations(customer: Sequence[Turn], agent: Sequence[Turn], config: EscalationConfig) -> list[Event]:
    """The customer calming after an agent turn, each with that turning-point turn as first evidence.

    The calm is the customer turn that actually calms: a turn of some length (``calm_min_seconds``; fragments
    neither calm nor break a calm) after which the customer's next ``calm_hold_turns`` such turns stay calm.
    A calm that breaks again at once ("fine." then "but how can I trust you this time?") is not it.
    """
    judged = [t for t in customer if _usable(t, config) and t.end - t.start >= config.calm_min_seconds]
    agent_turns = sorted((t for t in agent if t.end - t.start >= config.min_turn_seconds), key=lambda t: t.start)
    hold = config.calm_hold_turns if config.calm_must_hold else 0
    events: list[Event] = []
    for pos in range(1, len(judged)):
        before, calm = judged[pos - 1], judged[pos]
        was, now = _emotion(before), _emotion(calm)
        if not _negative(was, config) or _negative(now, config):
            continue
        if (now.valence - was.valence < config.calm_valence_rise
                and was.arousal - now.arousal < config.calm_arousal_fall):
            continue
        if any(_negative(_emotion(later), config) for later in judged[pos + 1:pos + 1 + hold]):
            continue
        between = [a for a in agent_turns if before.start <= a.start < calm.start]
        if not between:
            continue  # calmed down without the agent saying anything: not the agent's doing
        turning_point = between[-1]
        events.append(Event(
            kind="de_escalation", severity="info", start=max(turning_point.start, before.end), end=calm.end,
            speaker=calm.speaker, evidence=[_evidence(turning_point), _evidence(calm)],
            detail=f"customer calmer after the agent's turn at {turning_point.start:.1f} s: from {_fmt(was)} "
                   f"('{was.label}') to {_fmt(now)} ('{now.label}')",
        ))
    return events


def signal_summary(emotion: Emotion) -> dict[str, str]:
    """What each signal said about a turn, in words a reviewer reads (for an event's ``signals``)."""
    said: dict[str, str] = {}
    for name, record in emotion.signals.items():
        label = record.get("label", "?")
        probability = record.get(f"p_{label}")
        text = f"{label}" + (f" (p {float(probability):.2f})" if probability is not None else "")
        if "arousal" in record:
            text += f", arousal {float(record['arousal']):.2f}"
        if "raw_label" in record:
            text += f"; head before the speaker's usual voice: {record['raw_label']}"
        said[name] = text
    said["fused"] = f"{emotion.label}, {_fmt(emotion)}, confidence {emotion.confidence:.2f}"
    return said


def _converges(emotion: Emotion, config: EscalationConfig) -> bool:
    """The words and the sound both say the turn is hostile or heated (not one signal alone)."""
    text, sound = emotion.signals.get("text"), [r for n, r in emotion.signals.items() if n != "text"]
    if text is None or not sound:
        return False
    words = text.get("label") in config.agent_hostile_labels or \
        sum(float(text.get(f"p_{k}", 0.0)) for k in config.agent_hostile_labels) >= config.agent_words_hostile_mass
    voice = any(r.get("label") in config.agent_voice_hostile_labels
                or float(r.get("arousal", 0.0)) >= config.agent_voice_aroused for r in sound)
    return words and voice


def agent_deteriorations(agent: Sequence[Turn], config: EscalationConfig) -> list[Event]:
    """Runs of agent turns markedly worse than the agent's own level, on converging evidence.

    A turn counts when it is worse than the agent's level (hostile words and valence, or heated and
    negative) *and* judged with at least ``agent_min_confidence``. A run is an event when the words and the
    voice agree on one of its turns, or when it lasts ``agent_sustained_turns`` turns or more: one signal
    misreading one polite turn ("I'm so sorry for the inconvenience") is not a lapse. Severity follows the
    confidence of the run's most confident turn (plus persistence); the event carries what each signal said.
    """
    judged = [t for t in agent if _usable(t, config)]
    if not judged:
        return []
    first = judged[: config.agent_reference_turns]
    weights = [_emotion(t).confidence for t in first]
    total = sum(weights) or 1.0
    level_valence = max(sum(w * _emotion(t).valence for w, t in zip(weights, first, strict=True)) / total,
                        config.agent_expected_valence)
    level_arousal = min(sum(w * _emotion(t).arousal for w, t in zip(weights, first, strict=True)) / total,
                        config.agent_expected_arousal)

    def worse(emotion: Emotion) -> bool:
        if emotion.confidence < config.agent_min_confidence:
            return False
        hostile = emotion.valence <= level_valence - config.agent_valence_drop and \
            emotion.label in config.agent_hostile_labels
        # Valence, not the label: an agent's "Hello! Hello?" read angry by the words alone is not a lapse.
        heated = emotion.arousal >= level_arousal + config.agent_arousal_rise and \
            emotion.valence <= config.negative_valence
        return hostile or heated

    runs: list[list[Turn]] = []
    for turn, previous_worse in zip(judged, [False, *[worse(_emotion(t)) for t in judged[:-1]]], strict=True):
        if worse(_emotion(turn)):
            if previous_worse:
                runs[-1].append(turn)
            else:
                runs.append([turn])
    events = []
    for run in runs:
        converging = [t for t in run if _converges(_emotion(t), config)]
        if not converging and len(run) < config.agent_sustained_turns:
            continue
        peak = max(converging or run, key=lambda t: _emotion(t).confidence)
        top = _emotion(peak)
        confidence = min(1.0, top.confidence + config.persistence_bonus * (len(run) - 1))
        why = "words and voice agree" if converging else f"sustained over {len(run)} turns"
        events.append(Event(
            kind="agent_deterioration", severity=_band(confidence, config.agent_confidence_severity),  # type: ignore[arg-type]
            start=run[0].start, end=run[-1].end, speaker=run[0].speaker, evidence=[_evidence(t) for t in run],
            detail=f"agent from their level (valence {level_valence:+.2f}, arousal {level_arousal:.2f}) to "
                   f"{_fmt(top)} ('{top.label}' at {peak.start:.1f} s) over {len(run)} turn(s); {why}",
            confidence=round(confidence, 4), signals=signal_summary(top),
        ))
    return events


def emotion_events(turns: Sequence[Turn], config: EscalationConfig) -> list[Event]:
    """All three kinds for a call's turns, per customer and per agent speaker, in time order."""
    ordered = sorted(turns, key=lambda t: t.start)
    by_speaker: dict[tuple[str, str], list[Turn]] = {}
    for turn in ordered:
        by_speaker.setdefault((turn.role, turn.speaker), []).append(turn)
    agent = [t for t in ordered if t.role == "agent"]
    events: list[Event] = []
    for (role, _speaker), group in by_speaker.items():
        if role == "customer":
            events += escalations(group, config) + de_escalations(group, agent, config)
        elif role == "agent":
            events += agent_deteriorations(group, config)
    return sorted(events, key=lambda e: (e.start, e.kind))
