"""The diarization stage: who spoke when, who is the agent, and how the conversation went.

Reads the recording and the transcript's words; fills ``turns``, ``roles``, ``dynamics`` and the
dynamics ``events`` of the analysis, and each word's ``speaker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pyannote.core import Annotation

from engine.diarize.config import DiarizeConfig
from engine.diarize.cues import load_cues
from engine.diarize.dynamics import backchannel_test, compute_dynamics
from engine.diarize.loudness import speaker_levels_dbfs
from engine.diarize.roles import match_voiceprints, mono_roles, stereo_roles
from engine.diarize.turns import WordSpeakers, assign_by_channel, assign_by_overlap, build_turns
from engine.diarize.voicecheck import recheck_by_voice
from engine.record import CallAnalysis, Event, RoleDecision, StageTiming, Turn

if TYPE_CHECKING:
    # The diarizer module holds torch and pyannote.audio: imported only when no diarizer is given.
    from engine.diarize.diarizer import Diarization, Diarizer, RecordingLike

# Event kinds this stage writes; a re-run replaces them instead of adding duplicates.
EVENT_KINDS = {"overlap", "interruption", "silence", "dead_air", "hold", "role_disagreement"}


def run_diarization(analysis: CallAnalysis, recording: RecordingLike, config: DiarizeConfig,
                    diarizer: Diarizer | None = None) -> CallAnalysis:
    """Diarize one call and fill its turns, roles, dynamics and dynamics events."""
    return diarize_call(analysis, recording, config, diarizer)[0]


def diarize_call(analysis: CallAnalysis, recording: RecordingLike, config: DiarizeConfig,
                 diarizer: Diarizer | None = None) -> tuple[CallAnalysis, Diarization]:
    """``run_diarization``, also returning the diarization itself (for RTTM)."""
    if diarizer is None:
        from engine.diarize.diarizer import Diarizer

        diarizer = Diarizer(config)
    diarization = diarizer.diarize(recording, uri=analysis.call.call_id)
    words = analysis.transcript.words if analysis.transcript else []
    if diarization.method == "stereo":
        assignment = assign_by_channel(words, diarization.annotation, diarization.speaker_channels)
    else:
        speakers = assign_by_overlap(words, diarization.exclusive, diarization.annotation, config.turns)
        if config.voice_check.enabled:
            speakers = recheck_by_voice(words, speakers, recording.mono(), recording.sample_rate, diarizer.embedder,
                                        config.voice_check)
        assignment = WordSpeakers(speakers)
    for word, speaker in zip(words, assignment.speakers, strict=True):
        word.speaker = speaker

    cues = load_cues(config.roles.cue_files)
    turns = build_turns(words, assignment.speakers, config.turns, backchannel_test(cues, config.dynamics),
                        skip=assignment.bleed, channels=diarization.speaker_channels)
    speakers = sorted(set(diarization.speakers) | {t.speaker for t in turns})
    role_events: list[Event] = []
    if diarization.method == "stereo":
        roles, role_events = stereo_roles(diarization.speaker_channels, turns, cues, config.roles,
                                          analysis.call.metadata)
    else:
        roles = mono_roles(speakers, turns, cues, config.roles, _voiceprint_match(diarizer, diarization, analysis),
                           first_speaker=_first_speaker(diarization.annotation))
    _apply_roles(turns, roles)

    duration = recording.samples.shape[1] / recording.sample_rate
    dynamics, events = compute_dynamics(turns, words, diarization.annotation, duration, cues, config.dynamics)
    # stereo: each party on their own channel, overlap included; mono: only where one speaker talks alone
    alone = diarization.annotation if diarization.method == "stereo" else diarization.exclusive
    dynamics["loudness_dbfs"] = speaker_levels_dbfs(alone, _signals(recording, diarization), recording.sample_rate)
    dynamics["diarization"] = diarization.method
    dynamics["speakers"] = len(speakers)
    if diarization.method == "stereo":
        dynamics["bleed_words"] = len(assignment.bleed)
        dynamics["role_check"] = "disagrees" if role_events else "agrees_or_inconclusive"

    analysis.turns = turns
    analysis.roles = roles
    analysis.dynamics = dynamics
    analysis.events = [e for e in analysis.events if e.kind not in EVENT_KINDS] + role_events + events
    analysis.timings = [t for t in analysis.timings if not t.stage.startswith("diarize.")]
    analysis.timings.extend(StageTiming(stage=f"diarize.{step}", seconds=seconds)
                            for step, seconds in diarization.timings.items() if step != "total")
    return analysis, diarization


def _apply_roles(turns: list[Turn], roles: list[RoleDecision]) -> None:
    role_of = {decision.speaker: decision.role for decision in roles}
    for turn in turns:
        turn.role = role_of.get(turn.speaker, "unknown")


def _first_speaker(annotation: Annotation) -> str | None:
    first = next(iter(annotation.itertracks(yield_label=True)), None)
    return str(first[2]) if first else None


def _voiceprint_match(diarizer: Diarizer, diarization: Diarization,
                      analysis: CallAnalysis) -> tuple[str, float, str] | None:
    settings = diarizer.config.roles
    if not settings.voiceprints_dir or not diarization.speaker_embeddings:
        return None
    prints = diarizer.voiceprints
    agent_id = analysis.call.metadata.get(settings.agent_id_metadata_key)
    if agent_id and agent_id in prints:
        prints = {agent_id: prints[agent_id]}
    return match_voiceprints(diarization.speaker_embeddings, prints, settings.voiceprint_threshold)


def _signals(recording: RecordingLike, diarization: Diarization) -> dict[str, np.ndarray]:
    if diarization.method == "stereo":
        rows = {channel: recording.samples[i] for i, channel in enumerate(recording.channel_ids)}
        return {label: rows[channel] for label, channel in diarization.speaker_channels.items()}
    mixed = recording.mono()
    return {label: mixed for label in diarization.speakers}
