"""Built calls with planted defects, and the shared telephone call, scored end to end.

Fast tests score the built calls' oracle analyses (the script's exact turns and planted emotions): every
planted event is found with the right evidence time, the clean call has no defect and outscores every
defective one. Slow tests run the real ASR on the audio, so the phrase matching meets real recognition
errors, and score the shared telephone call on both standards in both output forms.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from engine.record import CallAnalysis, Turn
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

def _turns_from_words(analysis: CallAnalysis, roles: dict[int, str], pause: float = 1.0) -> list[Turn]:
    """Words → turns per channel (what the diarization stage will do on stereo), for these tests only."""
    turns: list[Turn] = []
    words = analysis.transcript.words
    for channel, role in roles.items():
        indices = [i for i, w in enumerate(words) if w.channel == channel]
        group: list[int] = []
        for i in [*indices, None]:
            if group and (i is None or words[i].start - words[group[-1]].end > pause):
                turns.append(Turn(speaker=f"channel_{channel}", role=role, start=words[group[0]].start,
                                  end=words[group[-1]].end, text=" ".join(words[k].text for k in group),
                                  channel=channel, word_indices=group))
                group = []
            if i is not None:
                group.append(i)
    return sorted(turns, key=lambda t: t.start)


def _turns_from_activity(call: BuiltCall, analysis: CallAnalysis, bridge: float = 1.0) -> list[Turn]:
    """Speech stretches per channel from the audio (as the stereo diarizer does), with the ASR words in them."""
    samples, rate = sf.read(call.path, dtype="float32")
    hop = rate // 100
    words = analysis.transcript.words
    turns: list[Turn] = []
    for channel, role in ((0, "agent"), (1, "customer")):
        frames = samples[: len(samples) // hop * hop, channel].reshape(-1, hop)
        active = np.flatnonzero(np.sqrt((frames ** 2).mean(axis=1)) > 1e-3) / 100
        stretches: list[list[float]] = []
        for t in active:
            if stretches and t - stretches[-1][1] <= bridge:
                stretches[-1][1] = t + 0.01
            else:
                stretches.append([t, t + 0.01])
        for start, end in stretches:
            inside = [i for i, w in enumerate(words)
                      if w.channel == channel and start - 0.3 <= (w.start + w.end) / 2 <= end + 0.3]
            turns.append(Turn(speaker=f"channel_{channel}", role=role, start=round(start, 2), end=round(end, 2),
                              text=" ".join(words[i].text for i in inside), channel=channel, word_indices=inside))
    return sorted(turns, key=lambda t: t.start)


@pytest.mark.slow
def test_planted_text_defects_survive_real_asr(tmp_path, engine):
    """Real ASR words (with their recognition errors) in speech stretches found from the audio."""
    calls = build_scenarios(tmp_path, "en")
    results = {}
    for name in ("clean", "no_greeting", "agent_interrupts", "dead_air", "prohibited_phrase"):
        call = calls[name]
        recording, analysis = engine.intake(call.path, call_id=call.call_id)
        engine.transcribe(recording, analysis, language="en")
        analysis.turns = _turns_from_activity(call, analysis)
        results[name] = score_call(analysis, STANDARDS[0])
    assert _defects(results["clean"]) == []
    for name, analysis in results.items():
        for planted in calls[name].planted:
            found = [e for e in analysis.events if e.kind == planted.kind]
            assert found, f"{planted.kind} missed on ASR of {name}: {summary_lines(analysis)}"
            assert planted.start - 1.0 <= found[0].start <= planted.end  # ASR word times are approximate
        if name != "clean":
            assert analysis.scorecard.total < results["clean"].scorecard.total


@pytest.mark.slow
@pytest.mark.parametrize("standard", STANDARDS, ids=lambda s: s.id)
def test_shared_telephone_call_is_scored_end_to_end(shared_data, engine, standard, tmp_path):
    """Real ASR; speaker turns from the reference RTTM until the diarization stage is wired in."""
    recording, analysis = engine.intake(shared_data / "calls" / "telephone_2spk.wav")
    engine.transcribe(recording, analysis, language="en")
    spans = []
    for line in (shared_data / "calls" / "telephone_2spk.rttm").read_text().splitlines():
        parts = line.split()
        spans.append((float(parts[3]), float(parts[3]) + float(parts[4]), parts[7]))
    first_speaker = min(spans)[2]  # who answered the phone takes the agent's part
    for word in analysis.transcript.words:
        middle = (word.start + word.end) / 2
        word.channel = 0 if min(spans, key=lambda s: 0 if s[0] <= middle <= s[1] else
                                 min(abs(s[0] - middle), abs(s[1] - middle)))[2] == first_speaker else 1
    analysis.turns = _turns_from_words(analysis, {0: "agent", 1: "customer"}, pause=0.5)
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
