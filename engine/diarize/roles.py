"""Which speaker is the agent: configuration, what was said, and (optionally) whose voice it is.

Stereo: the channel map (configuration, or the recording's metadata) decides; the content is
checked against it (who greets, offers help, asks for verification, thanks for calling) and a
disagreement is reported. Mono: the same cues decide, unless an enrolled agent voiceprint matches a
speaker. Every decision carries its confidence and the reason, with the words that support it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from engine.diarize.config import RoleSettings
from engine.diarize.cues import Cues, find, normalise
from engine.record import Event, Evidence, RoleDecision, Turn

# Confidence grows with the cue-score lead and saturates: one weak cue is a hint, several are proof.
CUE_SCALE = 3.0


@dataclass
class CueEvidence:
    """The cue categories one speaker's words matched."""

    speaker: str
    score: float = 0.0
    found: list[tuple[str, str, Turn]] = field(default_factory=list)  # (side, category, turn)

    def describe(self, limit: int = 3) -> str:
        if not self.found:
            return "no role cues"
        parts = [f"{side} cue '{category}' at {turn.start:.1f}s (\"{_clip(turn.text)}\")"
                 for side, category, turn in self.found[:limit]]
        return "; ".join(parts)


def _clip(text: str, length: int = 60) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def score_cues(turns: list[Turn], cues: Cues, settings: RoleSettings) -> dict[str, CueEvidence]:
    """Agent-likeness of each speaker: agent cue weights minus customer cue weights, each category once."""
    evidence: dict[str, CueEvidence] = {}
    for turn in sorted(turns, key=lambda t: t.start):
        entry = evidence.setdefault(turn.speaker, CueEvidence(turn.speaker))
        text = normalise(turn.text)
        for side, categories, sign in (("agent", cues.agent, 1.0), ("customer", cues.customer, -1.0)):
            for name, category in categories.items():
                if any(found_name == name and found_side == side for found_side, found_name, _ in entry.found):
                    continue
                if category.opening_only and turn.start > settings.opening_seconds:
                    continue
                if any(find(text, phrase) for phrase in category.phrases):
                    entry.found.append((side, name, turn))
                    entry.score += sign * category.weight
    return evidence


def cue_confidence(margin: float) -> float:
    return round(0.5 + 0.45 * (1.0 - math.exp(-max(margin, 0.0) / CUE_SCALE)), 3)


@dataclass
class CueVerdict:
    agent: str | None
    margin: float
    evidence: dict[str, CueEvidence]

    def decisive(self, settings: RoleSettings) -> bool:
        return self.agent is not None and self.margin >= settings.min_cue_margin


def cue_verdict(speakers: list[str], turns: list[Turn], cues: Cues, settings: RoleSettings) -> CueVerdict:
    evidence = score_cues(turns, cues, settings)
    for speaker in speakers:
        evidence.setdefault(speaker, CueEvidence(speaker))
    ranked = sorted(evidence.values(), key=lambda e: e.score, reverse=True)
    if not ranked or ranked[0].score <= 0:
        return CueVerdict(None, 0.0, evidence)
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    return CueVerdict(ranked[0].speaker, ranked[0].score - runner_up, evidence)


def _others(speakers: list[str], agent: str) -> list[str]:
    return [s for s in speakers if s != agent]


def stereo_roles(speaker_channels: dict[str, int], turns: list[Turn], cues: Cues, settings: RoleSettings,
                 metadata: dict[str, str]) -> tuple[list[RoleDecision], list[Event]]:
    """Roles of a stereo call from the channel map, checked against what each channel said."""
    channel_map: dict[int, str] = dict(settings.channel_map)
    source = "configuration (diarize.roles.channel_map)"
    declared = metadata.get(settings.agent_channel_metadata_key)
    if declared is not None and declared.strip().lstrip("-").isdigit():
        agent_channel = int(declared)
        channel_map = {c: ("agent" if c == agent_channel else "customer") for c in speaker_channels.values()}
        source = f"recording metadata ({settings.agent_channel_metadata_key}={agent_channel})"
    speakers = sorted(speaker_channels)
    mapped = {s: channel_map.get(speaker_channels[s], "unknown") for s in speakers}
    mapped_agent = next((s for s in speakers if mapped[s] == "agent"), None)
    verdict = cue_verdict(speakers, turns, cues, settings)
    events: list[Event] = []

    if not verdict.decisive(settings):
        reason = f"channel map from {source}; content check inconclusive ({_summary(verdict)})"
        return [RoleDecision(speaker=s, role=mapped[s], confidence=0.8, reason=reason) for s in speakers], events

    content_agent = verdict.agent
    assert content_agent is not None
    if content_agent == mapped_agent:
        confidence = max(0.9, cue_confidence(verdict.margin))
        reason = f"channel map from {source}, confirmed by content: {verdict.evidence[content_agent].describe()}"
        return [RoleDecision(speaker=s, role=mapped[s], confidence=confidence, reason=reason) for s in speakers], events

    detail = (f"channel map from {source} makes {mapped_agent or 'nobody'} the agent, but the content points to "
              f"{content_agent} (channel {speaker_channels[content_agent]}): "
              f"{verdict.evidence[content_agent].describe()}")
    turn = next((t for _, _, t in verdict.evidence[content_agent].found), None)
    evidence = [Evidence(start=turn.start, end=turn.end, speaker=turn.speaker, words=turn.text)] if turn else []
    events.append(Event(kind="role_disagreement", severity="medium", start=turn.start if turn else 0.0,
                        end=turn.end if turn else 0.0, speaker=content_agent, evidence=evidence, detail=detail))
    if settings.trust_content_over_channel_map:
        confidence = cue_confidence(verdict.margin)
        decisions = [RoleDecision(speaker=content_agent, role="agent", confidence=confidence,
                                  reason=f"content overrides the channel map: {detail}")]
        decisions += [RoleDecision(speaker=s, role="customer", confidence=confidence,
                                   reason=f"content overrides the channel map: {detail}")
                      for s in _others(speakers, content_agent)]
        return sorted(decisions, key=lambda d: d.speaker), events
    reason = f"DISAGREEMENT: {detail}; the channel map is kept (diarize.roles.trust_content_over_channel_map)"
    return [RoleDecision(speaker=s, role=mapped[s], confidence=0.5, reason=reason) for s in speakers], events


def _summary(verdict: CueVerdict) -> str:
    return "; ".join(f"{s}: score {e.score:g}" for s, e in sorted(verdict.evidence.items())) or "no words"


def mono_roles(speakers: list[str], turns: list[Turn], cues: Cues, settings: RoleSettings,
               voiceprint_match: tuple[str, float, str] | None = None,
               first_speaker: str | None = None) -> list[RoleDecision]:
    """Roles of a diarized call: an enrolled voiceprint, else the content cues, else who spoke first."""
    if not speakers:
        return []
    verdict = cue_verdict(speakers, turns, cues, settings)
    if voiceprint_match is not None:
        agent, similarity, agent_id = voiceprint_match
        confidence = round(min(0.99, 0.75 + 0.6 * (similarity - settings.voiceprint_threshold)), 3)
        agrees = "agrees" if verdict.agent in (agent, None) else f"disagrees (points to {verdict.agent})"
        reason = (f"voice matches enrolled agent '{agent_id}' (cosine {similarity:.2f} >= "
                  f"{settings.voiceprint_threshold:.2f}); content {agrees}: {verdict.evidence[agent].describe()}")
        return _decisions(speakers, agent, confidence, reason)
    if verdict.decisive(settings):
        assert verdict.agent is not None
        reason = (f"content cues: {verdict.evidence[verdict.agent].describe()} "
                  f"(lead {verdict.margin:g} over the other speaker)")
        return _decisions(speakers, verdict.agent, cue_confidence(verdict.margin), reason)
    first = min(turns, key=lambda t: t.start).speaker if turns else first_speaker
    if settings.first_speaker_is_agent and first is not None:
        reason = f"no decisive content cue ({_summary(verdict)}); the first speaker is taken as the agent"
        return _decisions(speakers, first, 0.55, reason)
    return [RoleDecision(speaker=s, role="unknown", confidence=0.0, reason=f"no decisive cue ({_summary(verdict)})")
            for s in speakers]


def _decisions(speakers: list[str], agent: str, confidence: float, reason: str) -> list[RoleDecision]:
    return [RoleDecision(speaker=s, role="agent" if s == agent else "customer", confidence=confidence, reason=reason)
            for s in speakers]


def match_voiceprints(speaker_embeddings: dict[str, np.ndarray], voiceprints: dict[str, np.ndarray],
                      threshold: float) -> tuple[str, float, str] | None:
    """The (speaker, cosine similarity, agent id) of the best match at or above ``threshold``, if any."""
    best: tuple[str, float, str] | None = None
    for speaker, embedding in speaker_embeddings.items():
        if not np.all(np.isfinite(embedding)) or not np.any(embedding):
            continue
        for agent_id, print_ in voiceprints.items():
            similarity = float(np.dot(embedding, print_) / (np.linalg.norm(embedding) * np.linalg.norm(print_)))
            if similarity >= threshold and (best is None or similarity > best[1]):
                best = (speaker, similarity, agent_id)
    return best
