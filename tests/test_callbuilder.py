"""The test-call builder puts every line, silence and overlap exactly where its ground truth says."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.callbuilder import RATE, Line, build_call, scenario, tools_available

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
