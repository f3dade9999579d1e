"""Built calls with planted defects, and the shared telephone call, scored end to end.

Fast tests score the built calls' oracle analyses (the script's exact turns and planted emotions): every
planted event is found with the right evidence time, the clean call has no defect and outscores every
defective one. Slow tests run the whole engine (ASR, diarization and roles, emotion) on the audio, so the
checks meet real recognition errors and the engine's own turns, and score the shared telephone call
on both standards in both output forms.
"""

from __future__ import annotations

import pytest

from engine.record import CallAnalysis
from engine.score import load_standard, score_call, summary_lines
from tests.callbuilder import SCENARIOS, BuiltCall, build_scenarios, tools_available

pytestmark = pytest.mark.skipif(not tools_available(), reason="espeak-ng not installed (scripts/setup.sh installs it)")

STANDARDS = [load_standard("five_point"), load_standard("qa_checklist")]
TOLERANCE = 0.05  # seconds: oracle turns are exact


@pytest.fixture(scope="module", params=["en", "zh"])
def calls(request, tmp_path_factory) -> dict[str, BuiltCall]:
    return build_scenarios(tmp_path_factory.mktemp(f"calls_{request.param}"), request.param)


def _scored(call: BuiltCall, standard) -> CallAnalysis:
    return score_call(call.analysis(), standard)


def _defects(analysis: CallAnalysis) -> list[str]:
    return [e.kind for e in analysis.events if e.kind.startswith("defect.")]


@pytest.mark.parametrize("name", [s for s in SCENARIOS if s != "clean"])
def test_every_planted_event_is_found_with_its_evidence_time(calls, name):
    call = calls[name]
    analysis = _scored(call, STANDARDS[0])
    assert call.planted
    for planted in call.planted:
        found = [e for e in analysis.events if e.kind == planted.kind]
        assert found, f"{planted.kind} not found in {name}: {[e.kind for e in analysis.events]}"
        event = found[0]
        line = call.turns[planted.line]
        if planted.kind == "defect.prohibited_phrase":  # the phrase's own words, inside the planted line
            assert line.start <= event.evidence[0].start < event.evidence[0].end <= line.end + TOLERANCE
        elif planted.kind == "defect.dead_air":
            assert event.start == pytest.approx(planted.start, abs=TOLERANCE)
            assert event.end == pytest.approx(planted.end, abs=TOLERANCE)
        else:  # the evidence is the planted turn itself
            assert event.evidence[0].start == pytest.approx(planted.start, abs=TOLERANCE)
            assert event.evidence[0].words == line.text


def test_clean_call_has_no_defect(calls):
    for standard in STANDARDS:
        analysis = _scored(calls["clean"], standard)
        assert _defects(analysis) == []
        assert analysis.scorecard.verdict == "pass"


def test_recovery_call_has_only_its_recovery(calls):
    analysis = _scored(calls["recovery"], STANDARDS[0])
    assert _defects(analysis) == []
    assert [e.kind for e in analysis.events] == ["recovery.customer_calmed"]


@pytest.mark.parametrize("standard", STANDARDS, ids=lambda s: s.id)
def test_clean_call_scores_above_every_defective_call(calls, standard):
    clean = _scored(calls["clean"], standard).scorecard.total
    for name in SCENARIOS:
        if name in ("clean", "recovery"):
            continue
        assert _scored(calls[name], standard).scorecard.total < clean, name


# ---- real ASR on the built audio, and the shared telephone call -------------------------------------

@pytest.mark.slow
def test_planted_defects_are_found_through_the_whole_engine(tmp_path, engine):
    """Real ASR, stereo diarization and roles, emotion, then scoring: the engine's own turns and events."""
    calls = build_scenarios(tmp_path, "en")
    results = {}
    for name in ("clean", "no_greeting", "agent_interrupts", "dead_air", "prohibited_phrase"):
        call = calls[name]
        analysis = engine.analyze(call.path, call_id=call.call_id, language="en")
        results[name] = score_call(analysis, STANDARDS[0])
    assert _defects(results["clean"]) == [], summary_lines(results["clean"])
    for name, analysis in results.items():
        for planted in calls[name].planted:
            found = [e for e in analysis.events if e.kind == planted.kind]
            assert found, f"{planted.kind} missed on {name}: {summary_lines(analysis)}"
            assert planted.start - 1.0 <= found[0].start <= planted.end  # ASR word times are approximate
        if name != "clean":
            assert analysis.scorecard.total < results["clean"].scorecard.total


@pytest.mark.slow
@pytest.mark.parametrize("standard", STANDARDS, ids=lambda s: s.id)
def test_shared_telephone_call_is_scored_end_to_end(shared_data, engine, standard, tmp_path):
    """The whole engine (ASR, pyannote diarization, roles, emotion) on the real call, then each standard."""
    analysis = engine.analyze(shared_data / "calls" / "telephone_2spk.wav", language="en")
    assert {t.role for t in analysis.turns} == {"agent", "customer"}
    score_call(analysis, standard)

    card = analysis.scorecard
    assert card is not None and card.standard_id == standard.id
    assert card.verdict in {band.name for band in standard.verdicts}
    assert 0 <= card.total <= 100 and all(i.explanation for i in card.items)
    assert all(0 <= ev.start <= ev.end <= analysis.call.duration + 0.5 for i in card.items for ev in i.evidence)
    out = tmp_path / f"{analysis.call.call_id}.json"
    out.write_text(analysis.to_json(indent=2), encoding="utf-8")
    assert CallAnalysis.from_json(out.read_text(encoding="utf-8")).scorecard == card
    lines = summary_lines(analysis)
    assert lines[1].strip().startswith(f"{standard.id} v{standard.version}")
    print("\n".join(lines))
