"""How the conversation flowed: overlaps, interruptions, backchannels, silences, holds, pace.

- A backchannel ("mm-hmm", "right", "嗯", "对") is a short listener response made while the other
  speaker holds the floor; it is counted, never an interruption.
- An interruption is anything else that starts while another speaker is talking and overlaps them:
  the one who starts later cut in on the other.
- Silences are the gaps between speech (not before the first word or after the last): notable from
  ``silence_notable_seconds``, dead air from ``silence_long_seconds``, unless a hold cue ("please
  hold", "请稍等") was said just before, in which case the gap is a hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyannote.core import Annotation, Segment

from engine.diarize.config import DynamicsSettings
from engine.diarize.cues import Cues, find, is_cjk, normalise, strip_phrases
from engine.record import Event, Evidence, Turn, Word

DynamicsValue = float | int | str | dict[str, float]
# A later speaker who starts within this much of the first one started with them, not after them.
SIMULTANEOUS_START = 0.2
# Word timestamps can be this far off the speech they belong to.
WORD_TIMING_SLACK = 0.5


def backchannel_test(cues: Cues, settings: DynamicsSettings) -> Callable[[list[Word]], bool]:
    """Whether some words are, by their content and length, a backchannel."""

    def is_backchannel(words: list[Word]) -> bool:
        if not words or len(words) > settings.backchannel_max_words:
            return False
        if max(w.end for w in words) - min(w.start for w in words) > settings.backchannel_max_seconds:
            return False
        text = normalise(" ".join(w.text for w in words))
        return bool(text) and not strip_phrases(text, cues.backchannels)

    return is_backchannel


def annotation_of(turns: list[Turn], uri: str = "call") -> Annotation:
    """Speech activity from the turns themselves (when no diarization annotation is at hand)."""
    annotation = Annotation(uri=uri)
    for index, turn in enumerate(turns):
        annotation[Segment(turn.start, max(turn.end, turn.start + 1e-3)), index] = turn.speaker
    return annotation


@dataclass
class TurnRelations:
    backchannels: list[tuple[Turn, Turn]]  # (backchannel, the turn it responds to)
    interruptions: list[tuple[Turn, Turn]]  # (interrupting turn, interrupted turn)


def relate_turns(turns: list[Turn], words: list[Word], speech: Annotation,
                 is_backchannel: Callable[[list[Word]], bool], settings: DynamicsSettings) -> TurnRelations:
    """Which turns are backchannels to another speaker's turn, and which cut in on one.

    Turn times come from word timestamps, which stretch a speaker's last word into the next
    speaker's first; an interruption must also be overlapping speech in ``speech`` (the diarization).
    """
    relations = TurnRelations([], [])
    for turn in turns:
        holder = _floor_holder(turn, turns)
        if holder is None:
            continue
        own_words = [words[i] for i in turn.word_indices] if words else []
        if is_backchannel(own_words):
            relations.backchannels.append((turn, holder))
        elif _speech_overlap(speech, turn, holder) >= settings.min_overlap_seconds:
            relations.interruptions.append((turn, holder))
    return relations


def _speech_overlap(speech: Annotation, turn: Turn, holder: Turn) -> float:
    """Seconds both speakers are heard at once, from shortly before ``turn`` starts to where either ends."""
    window = Segment(turn.start - WORD_TIMING_SLACK, min(turn.end, holder.end) + WORD_TIMING_SLACK)
    if not window:
        return 0.0
    mine = speech.label_timeline(turn.speaker, copy=False).crop(window).support()
    theirs = speech.label_timeline(holder.speaker, copy=False).crop(window).support()
    return sum((a & b).duration for a in mine for b in theirs if a.intersects(b))


def _floor_holder(turn: Turn, turns: list[Turn]) -> Turn | None:
    """The other speaker's turn that was under way when ``turn`` started, if any."""
    candidates = [t for t in turns if t.speaker != turn.speaker
                  and t.start + SIMULTANEOUS_START <= turn.start < t.end]
    return max(candidates, key=lambda t: t.end, default=None)


def _role_of(turns: list[Turn]) -> dict[str, str]:
    return {t.speaker: t.role for t in turns}


def _count_by(items: list[str]) -> dict[str, float]:
    counts: dict[str, float] = {}
    for item in items:
        counts[item] = counts.get(item, 0.0) + 1.0
    return counts


def _evidence(turn: Turn) -> Evidence:
    return Evidence(start=turn.start, end=turn.end, speaker=turn.speaker, words=turn.text)


def interruption_events(relations: TurnRelations) -> list[Event]:
    events = []
    for cut_in, holder in relations.interruptions:
        yielded = holder.end <= cut_in.end
        who = f"{cut_in.role if cut_in.role != 'unknown' else cut_in.speaker}"
        whom = f"{holder.role if holder.role != 'unknown' else holder.speaker}"
        detail = (f"{who} cut in on {whom} at {cut_in.start:.1f}s"
                  f"{'; ' + whom + ' stopped' if yielded else '; both kept talking'}")
        events.append(Event(kind="interruption", severity="medium" if cut_in.role == "agent" else "low",
                            start=cut_in.start, end=min(cut_in.end, holder.end), speaker=cut_in.speaker,
                            evidence=[_evidence(cut_in), _evidence(holder)], detail=detail))
    return events


def overlap_events(annotation: Annotation, settings: DynamicsSettings) -> list[Event]:
    events = []
    for region in annotation.get_overlap():
        if region.duration < settings.min_overlap_seconds:
            continue
        speakers = sorted(map(str, annotation.crop(region, mode="loose").labels()))
        events.append(Event(kind="overlap", start=region.start, end=region.end,
                            detail=f"{' and '.join(speakers)} talk at once for {region.duration:.1f}s"))
    return events


def silence_events(annotation: Annotation, turns: list[Turn], cues: Cues,
                   settings: DynamicsSettings) -> list[Event]:
    """Notable silences, dead air and holds: the gaps between speech."""
    timeline = annotation.get_timeline().support()
    if not timeline:
        return []
    events = []
    for gap in timeline.gaps(support=timeline.extent()):
        if gap.duration < settings.silence_notable_seconds:
            continue
        cue_turn = _hold_cue_before(gap, turns, cues, settings)
        if cue_turn is not None:
            events.append(Event(kind="hold", start=gap.start, end=gap.end, speaker=cue_turn.speaker,
                                evidence=[_evidence(cue_turn)],
                                detail=f"hold of {gap.duration:.1f}s after \"{cue_turn.text}\""))
        elif gap.duration >= settings.silence_long_seconds:
            events.append(Event(kind="dead_air", severity="medium", start=gap.start, end=gap.end,
                                detail=f"{gap.duration:.1f}s of dead air"))
        else:
            events.append(Event(kind="silence", severity="low", start=gap.start, end=gap.end,
                                detail=f"{gap.duration:.1f}s of silence"))
    return events


def _hold_cue_before(gap: Segment, turns: list[Turn], cues: Cues, settings: DynamicsSettings) -> Turn | None:
    before = [t for t in turns if gap.start - settings.hold_cue_window_seconds <= t.end <= gap.start + 0.05
              and t.role != "customer"]
    for turn in sorted(before, key=lambda t: t.end, reverse=True):
        text = normalise(turn.text)
        if any(find(text, phrase) for phrase in cues.hold):
            return turn
    return None


def speaking_rates(turns: list[Turn], words: list[Word]) -> tuple[dict[str, float], str]:
    """Words per minute per speaker; characters per minute when the call is in Mandarin."""
    mandarin = sum(is_cjk(t.text) for t in turns) > len(turns) / 2 if turns else False
    amount: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for turn in turns:
        if mandarin:
            count = sum(1 for c in turn.text if is_cjk(c))
        else:
            count = len(turn.word_indices) if words else len(turn.text.split())
        amount[turn.speaker] = amount.get(turn.speaker, 0.0) + count
        seconds[turn.speaker] = seconds.get(turn.speaker, 0.0) + max(turn.end - turn.start, 0.0)
    rates = {s: round(60.0 * amount[s] / seconds[s], 1) for s in amount if seconds[s] > 0}
    return rates, ("cpm" if mandarin else "wpm")


def compute_dynamics(turns: list[Turn], words: list[Word], annotation: Annotation | None, duration: float,
                     cues: Cues, settings: DynamicsSettings) -> tuple[dict[str, DynamicsValue], list[Event]]:
    """The call's conversation dynamics (numbers for the record) and its dynamics events."""
    annotation = annotation if annotation is not None else annotation_of(turns)
    is_backchannel = backchannel_test(cues, settings)
    relations = relate_turns(turns, words, annotation, is_backchannel, settings)
    overlaps = [e for e in overlap_events(annotation, settings)]
    silences = silence_events(annotation, turns, cues, settings)
    interruptions = interruption_events(relations)

    talk = {str(label): round(annotation.label_duration(label), 3) for label in annotation.labels()}
    total_talk = sum(talk.values())
    speech = annotation.get_timeline().support()
    gaps = list(speech.gaps(support=speech.extent())) if speech else []
    rates, unit = speaking_rates(turns, words)
    dynamics: dict[str, DynamicsValue] = {
        "duration": round(duration, 3),
        "speech_seconds": round(speech.duration(), 3) if speech else 0.0,
        "talk_seconds": talk,
        "talk_ratio": {s: round(v / total_talk, 3) for s, v in talk.items()} if total_talk else {},
        "overlap_seconds": round(annotation.get_overlap().duration(), 3),
        "overlaps": len(overlaps),
        "interruptions": len(relations.interruptions),
        "interruptions_by": _count_by([t.speaker for t, _ in relations.interruptions]),
        "backchannels": len(relations.backchannels),
        "backchannels_by": _count_by([t.speaker for t, _ in relations.backchannels]),
        "silence_seconds": round(sum(g.duration for g in gaps), 3),
        "longest_silence": round(max((g.duration for g in gaps), default=0.0), 3),
        "silences_notable": sum(g.duration >= settings.silence_notable_seconds for g in gaps),
        "silences_long": sum(g.duration >= settings.silence_long_seconds for g in gaps),
        "dead_air_seconds": round(sum(e.end - e.start for e in silences if e.kind == "dead_air"), 3),
        "holds": sum(e.kind == "hold" for e in silences),
        "hold_seconds": round(sum(e.end - e.start for e in silences if e.kind == "hold"), 3),
        "speaking_rate": rates,
        "speaking_rate_unit": unit,
    }
    dynamics.update(_by_role(dynamics, _role_of(turns)))
    events = sorted(overlaps + interruptions + silences, key=lambda e: (e.start, e.kind))
    return dynamics, events


def _by_role(dynamics: dict[str, DynamicsValue], roles: dict[str, str]) -> dict[str, DynamicsValue]:
    """``agent_talk_ratio``, ``customer_speaking_rate`` …: per-speaker numbers under the role's name."""
    flat: dict[str, DynamicsValue] = {}
    for role in ("agent", "customer"):
        speakers = [s for s, r in roles.items() if r == role]
        if len(speakers) != 1:
            continue
        speaker = speakers[0]
        for key in ("talk_seconds", "talk_ratio", "interruptions_by", "backchannels_by", "speaking_rate"):
            values = dynamics.get(key)
            if isinstance(values, dict):
                name = key.removesuffix("_by")
                flat[f"{role}_{name}"] = values.get(speaker, 0.0)
    return flat
