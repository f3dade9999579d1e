"""Who is the agent: channel map checked against content, cues on mono calls, enrolled voiceprints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.diarize.config import DiarizeConfig, RoleSettings
from engine.diarize.cues import load_cues
from engine.diarize.roles import match_voiceprints, mono_roles, stereo_roles
from engine.record import Turn

CUES = load_cues(DiarizeConfig().roles.cue_files)
SETTINGS = RoleSettings()
CHANNELS = {"channel_0": 0, "channel_1": 1}


def turn(speaker: str, start: float, text: str) -> Turn:
    return Turn(speaker=speaker, start=start, end=start + 2.0, text=text)


AGENT_ON_0 = [turn("channel_0", 0.5, "Thank you for calling Acme, my name is Sam, how can I help you today?"),
              turn("channel_1", 4.0, "Hi, I'm calling about my bill, I was charged twice."),
              turn("channel_0", 8.0, "I can help you with that. Can you verify your date of birth?"),
              turn("channel_1", 12.0, "Sure, fifth of May.")]


def roles_of(decisions: list) -> dict[str, str]:
    return {d.speaker: d.role for d in decisions}


def test_stereo_channel_map_confirmed_by_content_is_confident() -> None:
    decisions, events = stereo_roles(CHANNELS, AGENT_ON_0, CUES, SETTINGS, metadata={})
    assert roles_of(decisions) == {"channel_0": "agent", "channel_1": "customer"}
    assert events == []
    assert all(d.confidence >= 0.9 and "confirmed by content" in d.reason for d in decisions)
    assert "thanks_for_calling" in decisions[0].reason


def test_swapped_channel_map_is_reported_as_a_disagreement() -> None:
    swapped = RoleSettings(channel_map={0: "customer", 1: "agent"})
    decisions, events = stereo_roles(CHANNELS, AGENT_ON_0, CUES, swapped, metadata={})
    assert roles_of(decisions) == {"channel_0": "customer", "channel_1": "agent"}  # configuration is kept …
    assert all(d.confidence == 0.5 and d.reason.startswith("DISAGREEMENT") for d in decisions)  # … and doubted
    [event] = events
    assert event.kind == "role_disagreement" and event.speaker == "channel_0"
    assert "content points to channel_0" in event.detail and event.evidence[0].words.startswith("Thank you")


def test_content_overrides_a_swapped_channel_map_when_configured_to() -> None:
    trusting = RoleSettings(channel_map={0: "customer", 1: "agent"}, trust_content_over_channel_map=True)
    decisions, events = stereo_roles(CHANNELS, AGENT_ON_0, CUES, trusting, metadata={})
    assert roles_of(decisions) == {"channel_0": "agent", "channel_1": "customer"}
    assert [e.kind for e in events] == ["role_disagreement"]


def test_agent_channel_in_the_recording_metadata_overrides_the_configured_map() -> None:
    turns = [t.model_copy(update={"speaker": "channel_1" if t.speaker == "channel_0" else "channel_0"})
             for t in AGENT_ON_0]
    decisions, events = stereo_roles(CHANNELS, turns, CUES, SETTINGS, metadata={"agent_channel": "1"})
    assert roles_of(decisions) == {"channel_0": "customer", "channel_1": "agent"}
    assert events == [] and "recording metadata (agent_channel=1)" in decisions[0].reason


def test_stereo_without_cues_keeps_the_map_and_says_the_check_was_inconclusive() -> None:
    turns = [turn("channel_0", 0.0, "The horizon seems far."), turn("channel_1", 1.0, "It does.")]
    decisions, events = stereo_roles(CHANNELS, turns, CUES, SETTINGS, metadata={})
    assert roles_of(decisions) == {"channel_0": "agent", "channel_1": "customer"}
    assert events == [] and all(d.confidence == 0.8 and "inconclusive" in d.reason for d in decisions)


def test_mono_agent_is_found_by_cues_even_when_the_customer_speaks_first() -> None:
    turns = [turn("SPEAKER_00", 0.0, "Hello? Hi, I need to return an item."),
             turn("SPEAKER_01", 3.0, "Good afternoon, how can I help you? May I have your name please?")]
    decisions = mono_roles(["SPEAKER_00", "SPEAKER_01"], turns, CUES, SETTINGS)
    assert roles_of(decisions) == {"SPEAKER_00": "customer", "SPEAKER_01": "agent"}
    assert decisions[0].confidence > 0.7 and "offer_help" in decisions[0].reason


def test_mandarin_cues_find_the_agent() -> None:
    turns = [turn("SPEAKER_00", 0.0, "喂，你好，我的快递怎么还没到"),
             turn("SPEAKER_01", 3.0, "您好，很高兴为您服务，请您提供一下订单号，我帮您查询"),
             turn("SPEAKER_00", 8.0, "好的"),
             turn("SPEAKER_01", 20.0, "感谢您的来电，祝您生活愉快")]
    decisions = mono_roles(["SPEAKER_00", "SPEAKER_01"], turns, CUES, SETTINGS)
    assert roles_of(decisions) == {"SPEAKER_00": "customer", "SPEAKER_01": "agent"}
    assert decisions[1].confidence > 0.85


def test_without_cues_the_first_speaker_is_the_agent_with_low_confidence() -> None:
    turns = [turn("SPEAKER_01", 0.0, "Hello?"), turn("SPEAKER_00", 1.0, "Hello.")]
    decisions = mono_roles(["SPEAKER_00", "SPEAKER_01"], turns, CUES, SETTINGS)
    assert roles_of(decisions) == {"SPEAKER_00": "customer", "SPEAKER_01": "agent"}
    assert all(d.confidence == 0.55 and "first speaker" in d.reason for d in decisions)
    undecided = mono_roles(["SPEAKER_00", "SPEAKER_01"], turns, CUES, RoleSettings(first_speaker_is_agent=False))
    assert roles_of(undecided) == {"SPEAKER_00": "unknown", "SPEAKER_01": "unknown"}


def test_greeting_late_in_the_call_does_not_count() -> None:
    turns = [turn("SPEAKER_00", 0.0, "Hello?"), turn("SPEAKER_01", 45.0, "Good morning, this is Pat.")]
    decisions = mono_roles(["SPEAKER_00", "SPEAKER_01"], turns, CUES, SETTINGS)
    assert "first speaker" in decisions[0].reason


def test_voiceprint_match_decides_the_agent_over_the_cues() -> None:
    rng = np.random.default_rng(0)
    agent_voice, other_voice = rng.normal(size=192), rng.normal(size=192)
    embeddings = {"SPEAKER_00": agent_voice + 0.3 * rng.normal(size=192), "SPEAKER_01": other_voice}
    match = match_voiceprints(embeddings, {"sam": agent_voice}, SETTINGS.voiceprint_threshold)
    assert match is not None and match[0] == "SPEAKER_00" and match[2] == "sam"
    decisions = mono_roles(["SPEAKER_00", "SPEAKER_01"], [turn("SPEAKER_01", 0.0, "how can I help")],
                           CUES, SETTINGS, voiceprint_match=match)
    assert roles_of(decisions) == {"SPEAKER_00": "agent", "SPEAKER_01": "customer"}
    assert "enrolled agent 'sam'" in decisions[0].reason and "disagrees" in decisions[0].reason
    assert match_voiceprints({"SPEAKER_01": other_voice}, {"sam": agent_voice}, 0.6) is None


def test_agent_is_found_in_each_abcd_customer_service_dialogue(shared_data: Path) -> None:
    dialogues = json.loads((shared_data / "dialogues" / "abcd_sample.json").read_text())
    for dialogue in dialogues:
        label = {"agent": "SPEAKER_A", "customer": "SPEAKER_B"}
        turns = [turn(label[who], 3.0 * i, text) for i, (who, text) in enumerate(dialogue["original"])
                 if who in label]
        decisions = mono_roles(["SPEAKER_A", "SPEAKER_B"], turns, CUES, SETTINGS)
        assert roles_of(decisions) == {"SPEAKER_A": "agent", "SPEAKER_B": "customer"}, dialogue["convo_id"]
        assert decisions[0].confidence > 0.7


# ---- on audio ----

@pytest.fixture(scope="module")
def engine():
    from engine.config import load_config
    from engine.pipeline import Engine

    return Engine(load_config())


@pytest.fixture(scope="module")
def diarizer():
    from engine.diarize import Diarizer

    return Diarizer(DiarizeConfig(), device="cpu")


def analyse(engine, diarizer, path: Path, config: DiarizeConfig | None = None, metadata: dict | None = None):
    from engine.diarize import Diarizer, run_diarization

    recording, analysis = engine.intake(path, metadata=metadata)
    engine.transcribe(recording, analysis)
    config = config or DiarizeConfig()
    if config != diarizer.config:
        diarizer = Diarizer(config, device="cpu")
    return run_diarization(analysis, recording, config, diarizer)


@pytest.mark.slow
def test_greeting_speaker_is_the_agent_in_the_shared_telephone_call(shared_data: Path, engine, diarizer) -> None:
    from pyannote.metrics.diarization import DiarizationErrorRate

    from engine.diarize import read_rttm
    from engine.diarize.dynamics import annotation_of

    analysis = analyse(engine, diarizer, shared_data / "calls" / "telephone_2spk.wav")
    reference = read_rttm(shared_data / "calls" / "telephone_2spk.rttm")["telephone_2spk"]
    mapping = DiarizationErrorRate().optimal_mapping(reference, annotation_of(analysis.turns))
    agent = next(d for d in analysis.roles if d.role == "agent")
    # Diane (speaker90) opens the call and introduces herself ("This is Diane in New Jersey").
    assert mapping[agent.speaker] == "speaker90"
    assert "greeting" in agent.reason and 0.55 < agent.confidence < 0.8  # one weak cue: a hint, not proof


@pytest.mark.slow
def test_stereo_shared_call_takes_roles_from_the_channel_map(shared_data: Path, engine, diarizer) -> None:
    analysis = analyse(engine, diarizer, shared_data / "calls" / "stereo_2spk.wav")
    assert roles_of(analysis.roles) == {"channel_0": "agent", "channel_1": "customer"}
    assert {t.role for t in analysis.turns if t.channel == 0} == {"agent"}


@pytest.fixture(scope="module")
def clean_call(tmp_path_factory: pytest.TempPathFactory):
    from tests.callbuilder import build_call, scenario, tools_available

    if not tools_available():
        pytest.skip("espeak-ng is not installed: the scripted test calls cannot be synthesised")
    return build_call(scenario("clean"), tmp_path_factory.mktemp("roles"), "clean")


@pytest.mark.slow
def test_agent_channel_confirmed_by_what_was_said_in_a_stereo_call(clean_call, engine, diarizer) -> None:
    analysis = analyse(engine, diarizer, clean_call.path)
    assert roles_of(analysis.roles) == {"channel_0": "agent", "channel_1": "customer"}
    assert analysis.dynamics["role_check"] == "agrees_or_inconclusive"
    assert all("confirmed by content" in d.reason for d in analysis.roles)


@pytest.mark.slow
def test_swapped_channel_map_on_a_stereo_call_is_reported(clean_call, engine, diarizer) -> None:
    swapped = DiarizeConfig.model_validate({"roles": {"channel_map": {0: "customer", 1: "agent"}}})
    analysis = analyse(engine, diarizer, clean_call.path, config=swapped)
    assert analysis.dynamics["role_check"] == "disagrees"
    [event] = [e for e in analysis.events if e.kind == "role_disagreement"]
    assert event.speaker == "channel_0"
    assert all(d.reason.startswith("DISAGREEMENT") for d in analysis.roles)
    by_metadata = analyse(engine, diarizer, clean_call.path, metadata={"agent_channel": "1"})
    assert by_metadata.dynamics["role_check"] == "disagrees"


@pytest.mark.slow
def test_enrolled_agent_voiceprint_finds_the_agent_in_a_mono_call(shared_data: Path, engine, tmp_path: Path) -> None:
    import soundfile as sf

    from engine.diarize import Diarizer, read_rttm, run_diarization
    from engine.diarize.voiceprints import enroll

    call = shared_data / "calls" / "telephone_2spk.wav"
    samples, rate = sf.read(call, dtype="float32")
    enrolled = tmp_path / "sheila_alone.wav"
    sf.write(enrolled, samples[int(22.0 * rate): int(27.5 * rate)], rate)   # Sheila alone, 22.0-27.5 s
    prints = tmp_path / "voiceprints"
    prints.mkdir()
    config = DiarizeConfig.model_validate({"roles": {"voiceprints_dir": str(prints)}})
    diarizer = Diarizer(config, device="cpu")
    np.save(prints / "sheila.npy", enroll([enrolled], diarizer.embedder))

    recording, analysis = engine.intake(call)
    engine.transcribe(recording, analysis)
    analysis = run_diarization(analysis, recording, config, diarizer)
    agent = next(d for d in analysis.roles if d.role == "agent")
    reference = read_rttm(shared_data / "calls" / "telephone_2spk.rttm")["telephone_2spk"]
    sheila = reference.label_timeline("speaker91")
    agent_words = [w for w in analysis.transcript.words if w.speaker == agent.speaker]
    inside = sum(1 for w in agent_words if any(seg.start - 0.3 <= w.start <= seg.end for seg in sheila))
    assert inside / len(agent_words) > 0.8
    assert "enrolled agent 'sheila'" in agent.reason and agent.confidence > 0.75
