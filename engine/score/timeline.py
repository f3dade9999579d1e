"""How the talk flowed: gaps, holds, dead air, interruptions, talk time and speaking rate.

The diarization stage measures these from the audio (exact on stereo), so its events and ``dynamics``
are used whenever that stage ran. Only when it did not (turns built some other way, a test's constructed
turns) are they computed here from the turns — one way each, with the thresholds of the standard's
``detection`` block.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.score.context import CallContext
from engine.score.phrases import PhraseHit, count_units

DIARIZE_KINDS = frozenset({"interruption", "overlap", "silence", "dead_air", "hold", "backchannel"})


def diarization_ran(ctx: CallContext) -> bool:
    """The diarization stage's dynamics are on the record (then its events are the truth, even if none)."""
    return bool(ctx.analysis.dynamics) or any(e.kind in DIARIZE_KINDS for e in ctx.analysis.events)


@dataclass(frozen=True)
class Gap:
    """Nobody speaking, between the end of turn ``before`` and the start of turn ``after``."""

    start: float
    end: float
    before: int | None
    after: int | None

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Hold:
    start: float
    end: float
    asked: PhraseHit | None
    thanked: PhraseHit | None


@dataclass(frozen=True)
class Interruption:
    """Turn ``by`` started while turn ``of`` was still going (not a backchannel)."""

    start: float
    end: float
    by: int
    of: int | None


def speech_gaps(ctx: CallContext) -> list[Gap]:
    """Silences between the first and the last speech (anyone's), in order."""
    order = sorted(range(len(ctx.turns)), key=lambda i: ctx.turns[i].start)
    gaps: list[Gap] = []
    reach, last = None, None
    for i in order:
        turn = ctx.turns[i]
        if reach is not None and turn.start > reach:
            gaps.append(Gap(reach, turn.start, last, i))
        if reach is None or turn.end > reach:
            reach, last = turn.end, i
    return gaps


def _turn_near(ctx: CallContext, role: str, time: float, ending: bool = False) -> int | None:
    """The turn of ``role`` that ends (or starts) closest to ``time``."""
    candidates = ctx.by_role.get(role, [])
    if not candidates:
        return None
    return min(candidates, key=lambda i: abs((ctx.turns[i].end if ending else ctx.turns[i].start) - time))


def holds(ctx: CallContext) -> list[Hold]:
    """Holds, each with the agent's request before it and thanks after it (if said)."""
    s = ctx.settings
    spans: list[tuple[float, float]]
    if diarization_ran(ctx):
        spans = [(e.start, e.end) for e in ctx.analysis.events if e.kind == "hold"]
    else:
        spans = []
        for gap in speech_gaps(ctx):
            if gap.seconds >= s.hold_min_seconds and ctx.matcher.find(
                    "hold_request", "agent", gap.start - s.hold_cue_window_seconds, gap.start + 0.01):
                spans.append((gap.start, gap.end))
    out = []
    for start, end in spans:
        asked = ctx.matcher.find("hold_request", "agent", start - s.hold_cue_window_seconds, start + 0.01)
        thanked = ctx.matcher.find("hold_thanks", "agent", end - 0.01, end + s.hold_thanks_window_seconds)
        out.append(Hold(start, end, asked[-1] if asked else None, thanked[0] if thanked else None))
    return out


def dead_air(ctx: CallContext) -> list[Gap]:
    """Silences of at least ``dead_air_seconds`` that are not holds."""
    s = ctx.settings
    held = [(h.start, h.end) for h in holds(ctx)]

    def is_hold(start: float, end: float) -> bool:
        return any(start < h_end and end > h_start for h_start, h_end in held)

    if diarization_ran(ctx):
        found = []
        for e in ctx.analysis.events:
            long_enough = e.end - e.start >= s.dead_air_seconds
            if e.kind in ("dead_air", "silence") and long_enough and not is_hold(e.start, e.end):
                found.append(Gap(e.start, e.end, _turn_near(ctx, "any", e.start, ending=True),
                                 _turn_near(ctx, "any", e.end)))
        return sorted(set(found), key=lambda g: g.start)
    return [g for g in speech_gaps(ctx) if g.seconds >= s.dead_air_seconds and not is_hold(g.start, g.end)]


def _is_backchannel(ctx: CallContext, index: int) -> bool:
    turn = ctx.turns[index]
    s = ctx.settings
    return (turn.end - turn.start <= s.backchannel_max_seconds
            and count_units(turn.text, ctx.language) <= s.backchannel_max_words)


def interruptions(ctx: CallContext, by: str = "agent", of: str = "customer") -> list[Interruption]:
    """Times ``by`` cut in while ``of`` was speaking; backchannels ("mm-hm", 嗯) do not count."""
    s = ctx.settings
    found: list[Interruption] = []
    if diarization_ran(ctx):
        for e in ctx.analysis.events:
            if e.kind != "interruption" or ctx.role_of(e.speaker) != by:
                continue
            cutter = _turn_near(ctx, by, e.start)
            victim = next((i for i in ctx.by_role.get(of, [])
                           if ctx.turns[i].start < e.start < ctx.turns[i].end), None)
            if cutter is not None:
                found.append(Interruption(e.start, e.end, cutter, victim))
        return found
    victims = ctx.by_role.get(of, [])
    for i in ctx.by_role.get(by, []):
        cutter = ctx.turns[i]
        for j in victims:
            victim = ctx.turns[j]
            overlap = min(cutter.end, victim.end) - cutter.start
            if victim.start < cutter.start < victim.end - s.min_overlap_seconds and overlap >= s.min_overlap_seconds:
                if not _is_backchannel(ctx, i):
                    found.append(Interruption(cutter.start, min(cutter.end, victim.end), i, j))
                break
    return found


def talk_seconds(ctx: CallContext, role: str) -> float:
    return sum(ctx.turns[i].end - ctx.turns[i].start for i in ctx.by_role.get(role, []))


def _upstream_per_role(ctx: CallContext, key: str, role: str) -> float | None:
    value = ctx.analysis.dynamics.get(key)
    if isinstance(value, dict):
        if role in value:
            return float(value[role])
        for speaker, number in value.items():
            if ctx.role_of(speaker) == role:
                return float(number)
    return None


def talk_share(ctx: CallContext, role: str) -> float | None:
    """``role``'s share of all speech time (``dynamics["talk_ratio"][role]`` when diarization gave it)."""
    upstream = _upstream_per_role(ctx, "talk_ratio", role)
    if upstream is not None:
        return upstream
    total = sum(talk_seconds(ctx, r) for r in ("agent", "customer"))
    return talk_seconds(ctx, role) / total if total > 0 else None


def turn_rate(ctx: CallContext, index: int) -> float | None:
    """Words (Mandarin: characters) per minute in one turn."""
    turn = ctx.turns[index]
    seconds = turn.end - turn.start
    return 60 * count_units(turn.text, ctx.language) / seconds if seconds > 0 else None


def speaking_rate(ctx: CallContext, role: str) -> float | None:
    """Words (Mandarin: characters) per minute of ``role``'s speech (``dynamics["speaking_rate"]`` first)."""
    upstream = _upstream_per_role(ctx, "speaking_rate", role)
    if upstream is not None:
        return upstream
    seconds = talk_seconds(ctx, role)
    units = sum(count_units(ctx.turns[i].text, ctx.language) for i in ctx.by_role.get(role, []))
    return 60 * units / seconds if seconds > 0 else None
