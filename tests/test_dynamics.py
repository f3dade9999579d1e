"""Conversation dynamics: interruptions, backchannels, silences, holds, talk time and pace."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pyannote.core import Annotation, Segment

from engine.diarize.config import DiarizeConfig, DynamicsSettings
from engine.diarize.cues import load_cues
from engine.diarize.dynamics import compute_dynamics
from engine.record import Turn, Word

CUES = load_cues(DiarizeConfig().roles.cue_files)
SETTINGS = DynamicsSettings()


def said(speaker: str, role: str, start: float, end: float, text: str, words: list[Word]) -> Turn:
    """A turn whose words are spread evenly over it (and appended to ``words``)."""
    tokens = list(text) if all("\u3400" <= c <= "\u9fff" for c in text) else text.split()
    step = (end - start) / len(tokens)
    first = len(words)
    for k, token in enumerate(tokens):
        words.append(Word(text=token, start=start + k * step, end=start + (k + 1) * step, probability=0.9,
                          channel=0 if role == "agent" else 1, speaker=speaker))
    return Turn(speaker=speaker, role=role, start=start, end=end, text=text,
                word_indices=list(range(first, len(words))))


def dynamics_of(turns: list[Turn], words: list[Word], duration: float = 60.0,
                settings: DynamicsSettings = SETTINGS) -> tuple[dict, list]:
    return compute_dynamics(turns, words, None, duration, CUES, settings)


def kinds(events: list) -> list[str]:
    return [e.kind for e in events]


def test_customer_starting_inside_agent_speech_is_an_interruption_of_the_agent() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 6.0, "so what I would suggest is that we first reset the router and then", words),
             said("C", "customer", 4.0, 8.0, "no no I already did that twice this morning", words)]
    dynamics, events = dynamics_of(turns, words)
    assert dynamics["interruptions"] == 1
    assert dynamics["interruptions_by"] == {"C": 1.0}
    assert dynamics["customer_interruptions"] == 1.0 and dynamics["agent_interruptions"] == 0.0
    [interruption] = [e for e in events if e.kind == "interruption"]
    assert interruption.speaker == "C" and interruption.start == pytest.approx(4.0)
    assert "customer cut in on agent" in interruption.detail and "agent stopped" in interruption.detail
    assert {ev.speaker for ev in interruption.evidence} == {"A", "C"}


def test_agent_interrupting_the_customer_is_more_severe_than_the_reverse() -> None:
    words: list[Word] = []
    turns = [said("C", "customer", 0.0, 6.0, "and then the bill came and it was twice what I expected so", words),
             said("A", "agent", 5.0, 9.0, "let me stop you there and explain the charges", words)]
    _, events = dynamics_of(turns, words)
    [interruption] = [e for e in events if e.kind == "interruption"]
    assert interruption.speaker == "A" and interruption.severity == "medium"


@pytest.mark.parametrize("backchannel", ["mm-hmm", "right", "uh-huh yeah", "okay"])
def test_english_backchannel_during_agent_speech_is_counted_not_an_interruption(backchannel: str) -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 8.0, "I have reset your router and updated the line settings for you", words),
             said("C", "customer", 3.0, 3.5, backchannel, words)]
    dynamics, events = dynamics_of(turns, words)
    assert dynamics["backchannels"] == 1 and dynamics["backchannels_by"] == {"C": 1.0}
    assert dynamics["interruptions"] == 0
    assert "interruption" not in kinds(events)


@pytest.mark.parametrize("backchannel", ["嗯", "对", "对对对", "好的"])
def test_mandarin_backchannel_during_agent_speech_is_counted_not_an_interruption(backchannel: str) -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 6.0, "我已经为您重启了路由器并更新了线路设置", words),
             said("C", "customer", 2.0, 2.4, backchannel, words)]
    dynamics, _ = dynamics_of(turns, words)
    assert dynamics["backchannels"] == 1 and dynamics["interruptions"] == 0


def test_backchannel_word_opening_a_real_objection_is_an_interruption() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 8.0, "the fee applies to every account that was opened after March", words),
             said("C", "customer", 3.0, 6.0, "right but mine was opened in January", words)]
    dynamics, _ = dynamics_of(turns, words)
    assert dynamics["interruptions"] == 1 and dynamics["backchannels"] == 0


def test_backchannel_after_the_other_speaker_finished_is_an_ordinary_turn() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 4.0, "is there anything else I can help with", words),
             said("C", "customer", 4.5, 5.0, "okay", words)]
    dynamics, _ = dynamics_of(turns, words)
    assert dynamics["backchannels"] == 0 and dynamics["interruptions"] == 0


def test_speakers_starting_together_is_overlap_not_interruption() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 2.0, 5.0, "so shall we go ahead then", words),
             said("C", "customer", 2.1, 5.0, "can I ask one more thing", words)]
    dynamics, events = dynamics_of(turns, words)
    assert dynamics["interruptions"] == 0
    assert "overlap" in kinds(events) and dynamics["overlap_seconds"] == pytest.approx(2.9)


def test_gap_of_three_seconds_is_a_notable_silence_and_five_is_dead_air() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 2.0, "how can I help", words),
             said("C", "customer", 5.5, 7.0, "my bill is wrong", words),       # 3.5 s gap: notable
             said("A", "agent", 13.0, 15.0, "I see the charge", words),        # 6.0 s gap: dead air
             said("C", "customer", 15.5, 17.0, "can you remove it", words)]    # 0.5 s: nothing
    dynamics, events = dynamics_of(turns, words)
    assert kinds(events) == ["silence", "dead_air"]
    silence, dead_air = events
    assert (silence.start, silence.end) == pytest.approx((2.0, 5.5))
    assert (dead_air.start, dead_air.end) == pytest.approx((7.0, 13.0)) and dead_air.severity == "medium"
    assert dynamics["silences_notable"] == 2 and dynamics["silences_long"] == 1
    assert dynamics["dead_air_seconds"] == pytest.approx(6.0)
    assert dynamics["longest_silence"] == pytest.approx(6.0)


def test_silence_thresholds_come_from_configuration() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 2.0, "how can I help", words),
             said("C", "customer", 4.5, 6.0, "my bill is wrong", words)]   # 2.5 s gap
    strict = DynamicsSettings(silence_notable_seconds=2.0, silence_long_seconds=2.4)
    assert kinds(dynamics_of(turns, words)[1]) == []
    assert kinds(dynamics_of(turns, words, settings=strict)[1]) == ["dead_air"]


def test_silence_before_the_first_word_and_after_the_last_is_not_dead_air() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 10.0, 12.0, "thank you for calling", words),
             said("C", "customer", 12.5, 14.0, "hello there", words)]
    dynamics, events = dynamics_of(turns, words, duration=40.0)
    assert events == [] and dynamics["silence_seconds"] == pytest.approx(0.5)


@pytest.mark.parametrize("cue", ["let me check that for you please hold", "请您稍等，我帮您查一下"])
def test_silence_after_a_hold_cue_is_a_hold_not_dead_air(cue: str) -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 3.0, cue, words), said("A", "agent", 40.0, 42.0, "thanks for holding", words)]
    dynamics, events = dynamics_of(turns, words)
    assert kinds(events) == ["hold"]
    assert dynamics["holds"] == 1 and dynamics["hold_seconds"] == pytest.approx(37.0)
    assert dynamics["dead_air_seconds"] == 0


def test_talk_ratio_and_speaking_rate_per_speaker_and_role() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 6.0, "one two three four five six seven eight nine ten eleven twelve", words),
             said("C", "customer", 7.0, 9.0, "one two three four", words)]
    dynamics, _ = dynamics_of(turns, words)
    assert dynamics["talk_seconds"] == {"A": 6.0, "C": 2.0}
    assert dynamics["agent_talk_ratio"] == pytest.approx(0.75)
    assert dynamics["speaking_rate_unit"] == "wpm"
    assert dynamics["speaking_rate"] == {"A": 120.0, "C": 120.0}


def test_mandarin_speaking_rate_is_characters_per_minute() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 3.0, "感谢您的来电请问有什么可以帮您", words)]  # 15 characters in 3 s
    dynamics, _ = dynamics_of(turns, words)
    assert dynamics["speaking_rate_unit"] == "cpm" and dynamics["speaking_rate"] == {"A": 300.0}


def test_overlap_seconds_come_from_the_diarization_when_given() -> None:
    words: list[Word] = []
    turns = [said("A", "agent", 0.0, 4.0, "we can do that today", words)]
    speech = Annotation()
    speech[Segment(0.0, 4.0), "a"] = "A"
    speech[Segment(3.0, 5.0), "c"] = "C"   # speech the ASR did not transcribe still counts as talk
    dynamics, _ = compute_dynamics(turns, words, speech, 10.0, CUES, SETTINGS)
    assert dynamics["overlap_seconds"] == pytest.approx(1.0)
    assert dynamics["talk_seconds"] == {"A": 4.0, "C": 2.0}


# ---- on audio: two-party calls built from speech, through VAD, ASR and the diarization stage ----

@pytest.fixture(scope="module")
def built_calls(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from tests.callbuilder import Line, build_call, scenario, tools_available

    if not tools_available():
        pytest.skip("espeak-ng is not installed: the scripted test calls cannot be synthesised")
    out = tmp_path_factory.mktemp("calls")
    lines = scenario("clean")
    backchannel = [*lines[:7], Line("customer", "Right.", gap=-3.0), *lines[7:]]  # during the agent's line 6
    return {"agent_interrupts": build_call(scenario("agent_interrupts"), out, "agent_interrupts"),
            "dead_air": build_call(scenario("dead_air"), out, "dead_air"),
            "backchannel": build_call(backchannel, out, "backchannel")}


@pytest.fixture(scope="module")
def analyse():
    from engine.config import load_config
    from engine.diarize import Diarizer, run_diarization
    from engine.pipeline import Engine

    config = load_config()
    engine = Engine(config)
    diarizer = Diarizer(DiarizeConfig(), device="cpu")

    def run(path, mono: bool = False):
        recording, analysis = engine.intake(path)
        if mono:
            recording = replace(recording, samples=recording.samples.mean(axis=0, keepdims=True), channel_ids=[0])
        engine.transcribe(recording, analysis)
        return run_diarization(analysis, recording, DiarizeConfig(), diarizer)

    return run


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="open (issue 15): with 30 s windows decoded whole, the agent's first word "
                   "of the cut-in is timed about 0.8 s late on this built call (the interruption is found, its start "
                   "is off by more than the 0.5 s tolerance)")
def test_agent_cutting_in_on_the_customer_is_found_in_a_stereo_call(built_calls: dict, analyse) -> None:
    call = built_calls["agent_interrupts"]
    [planted] = call.planted
    analysis = analyse(call.path)
    interruptions = [e for e in analysis.events if e.kind == "interruption"]
    assert len(interruptions) == 1
    assert interruptions[0].speaker == "channel_0" and "agent cut in on customer" in interruptions[0].detail
    assert interruptions[0].start == pytest.approx(planted.start, abs=0.5)


@pytest.mark.slow
def test_dead_air_is_found_in_a_call_through_vad_and_asr(built_calls: dict, analyse) -> None:
    call = built_calls["dead_air"]
    [planted] = call.planted
    analysis = analyse(call.path)
    [dead_air] = [e for e in analysis.events if e.kind == "dead_air"]
    assert dead_air.start == pytest.approx(planted.start, abs=0.5)
    assert dead_air.end == pytest.approx(planted.end, abs=0.5)
    assert analysis.dynamics["silences_long"] == 1


@pytest.mark.slow
def test_customer_backchannel_in_a_call_is_counted_and_not_an_interruption(built_calls: dict, analyse) -> None:
    analysis = analyse(built_calls["backchannel"].path)
    assert analysis.dynamics["backchannels_by"] == {"channel_1": 1.0}
    assert analysis.dynamics["interruptions"] == 0


@pytest.mark.slow
def test_dead_air_is_found_in_a_mono_call_after_diarization(built_calls: dict, analyse) -> None:
    call = built_calls["dead_air"]
    [planted] = call.planted
    analysis = analyse(call.path, mono=True)
    assert analysis.dynamics["diarization"] == "pyannote"
    [dead_air] = [e for e in analysis.events if e.kind == "dead_air"]
    assert dead_air.start == pytest.approx(planted.start, abs=0.5)
    assert dead_air.end == pytest.approx(planted.end, abs=0.5)
