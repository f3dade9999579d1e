"""Scorecard arithmetic (critical, fatal, not assessed), the record it writes, the summary, and reviews."""

from __future__ import annotations

import pytest

from engine.record import CallAnalysis
from engine.score import (
    ReviewOverride,
    ScoredCall,
    agreement_report,
    item_assessed,
    load_overrides,
    load_standard,
    save_overrides,
    score_call,
    summary_lines,
)
from tests.callbuilder import analysis_of, turn

FIVE = load_standard("five_point")
CHECKLIST = load_standard("qa_checklist")


def good_call(emotion: bool = True):
    e = (lambda label: label) if emotion else (lambda label: None)
    return [
        turn("agent", 0.5, 4, "Thank you for calling Acme, how can I help you today?", e("neutral")),
        turn("customer", 4.5, 8, "Hi, my internet keeps dropping in the evening.", e("neutral")),
        turn("agent", 8.5, 13, "I'm sorry to hear that. Could you please confirm your date of birth?", e("neutral")),
        turn("customer", 13.5, 15, "Fifth of May, nineteen eighty.", e("neutral")),
        turn("agent", 15.5, 20, "Thank you. Just to confirm, it drops every evening?", e("neutral")),
        turn("customer", 20.5, 22, "Yes, that's right.", e("neutral")),
        turn("agent", 22.5, 28, "I see. I've reset your router, so it should be fixed now.", e("neutral")),
        turn("customer", 28.5, 31, "It works now, thank you so much!", e("happy")),
        turn("agent", 31.5, 37, "To summarise, we reset the router. Is there anything else?", e("neutral")),
        turn("customer", 37.5, 38.5, "No, thanks.", e("happy")),
        turn("agent", 39, 42, "Thank you for calling, have a nice day, goodbye.", e("neutral")),
    ]


def test_good_call_passes_both_standards_and_records_which_standard_scored_it():
    for standard in (FIVE, CHECKLIST):
        analysis = score_call(analysis_of(good_call()), standard)
        card = analysis.scorecard
        assert card is not None and card.verdict == "pass" and card.total >= 90
        assert (card.standard_id, card.standard_version) == (standard.id, standard.version)
        assert all(item.explanation for item in card.items)


def test_items_needing_emotion_are_not_assessed_and_do_not_count():
    analysis = score_call(analysis_of(good_call(emotion=False)), FIVE)
    card = analysis.scorecard
    skipped = {i.item_id for i in card.items if not item_assessed(i)}
    assert {"customer_end_state", "escalation_resolved"} <= skipped
    assert all(i.explanation.startswith("not assessed") for i in card.items if i.item_id in skipped)
    assert card.total >= 90


def test_failed_critical_item_zeroes_its_section():
    turns = good_call()
    turns[0] = turn("agent", 0.5, 4, "Account number?", "neutral")
    card = score_call(analysis_of(turns), FIVE).scorecard
    assert card.sections["process_compliance"] == 0
    greeting = next(i for i in card.items if i.item_id == "greeting")
    assert not greeting.passed and greeting.critical and greeting.evidence[0].start == 0.5
    assert card.total < 100


def test_failed_fatal_item_zeroes_the_call_and_sets_the_fatal_verdict():
    turns = good_call()
    turns[6] = turn("agent", 22.5, 28, "That's not my problem, but I've reset your router.", "neutral")
    card = score_call(analysis_of(turns), FIVE).scorecard
    assert card.total == 0 and card.verdict == "flag"
    item = next(i for i in card.items if i.item_id == "no_prohibited_phrases")
    assert item.fatal and not item.passed and "not my problem" in item.evidence[0].words.lower()


def test_mandarin_call_is_scored_with_the_mandarin_phrases():
    turns = [turn("agent", 0.5, 4, "您好，欢迎致电，请问有什么可以帮您？"), turn("customer", 4.5, 8, "我的网络断了。"),
             turn("agent", 8.5, 12, "非常抱歉，我已经为您处理好了。"), turn("customer", 12.5, 14, "太好了，谢谢。"),
             turn("agent", 14.5, 17, "感谢您的来电，再见。")]
    card = score_call(analysis_of(turns, "zh"), FIVE).scorecard
    assert card.verdict == "pass"
    assert next(i for i in card.items if i.item_id == "resolution_confirmed").passed


def test_scoring_again_replaces_its_events_and_keeps_upstream_ones():
    from engine.record import Event
    analysis = analysis_of(good_call(), events=[Event(kind="overlap", start=1, end=2)])
    analysis.turns[0] = turn("agent", 0.5, 4, "Account number?", "neutral")
    score_call(analysis, FIVE)
    score_call(analysis, CHECKLIST)
    assert [e.kind for e in analysis.events].count("defect.missing_greeting") == 1
    assert any(e.kind == "overlap" for e in analysis.events)


def test_scored_analysis_round_trips_through_json():
    analysis = score_call(analysis_of(good_call()), CHECKLIST)
    again = CallAnalysis.from_json(analysis.to_json())
    assert again.scorecard == analysis.scorecard and again.events == analysis.events


def test_summary_names_verdict_lost_points_and_defects():
    turns = good_call()
    turns[0] = turn("agent", 0.5, 4, "Account number?", "neutral")
    lines = summary_lines(score_call(analysis_of(turns), FIVE))
    text = "\n".join(lines)
    assert "five_point v1.0" in text and "→" in text
    assert "CRITICAL greeting" in text and "defect.missing_greeting 0:00.5" in text


def test_unscored_call_summary_says_so():
    assert summary_lines(analysis_of(good_call()))[-1].strip() == "not scored"


# -- reviews ------------------------------------------------------------------------------------------

def _override(**fields):
    base = {"call_id": "c1", "standard_id": "five_point", "standard_version": "1.0", "reviewer": "lee"}
    return ReviewOverride(**{**base, **fields})


def test_override_is_kept_beside_the_automatic_score():
    card = score_call(analysis_of(good_call()), FIVE).scorecard
    before = card.model_copy(deep=True)
    report = agreement_report([ScoredCall(call_id="c1", scorecard=card)],
                              [_override(item_id="empathy", passed=False, score=0, comment="tone was cold")])
    assert card == before
    assert report.reviewed_items == 1 and report.pass_fail_agreement == 0.0
    assert report.disagreements[0].item_id == "empathy" and report.disagreements[0].comment == "tone was cold"


def test_agreement_report_counts_items_and_verdicts():
    cards = [ScoredCall(call_id=f"c{i}", scorecard=score_call(analysis_of(good_call()), FIVE).scorecard)
             for i in (1, 2)]
    reviews = [_override(call_id="c1", item_id="greeting", passed=True),
               _override(call_id="c1", item_id="polite_language", score=1.0),
               _override(call_id="c2", item_id="greeting", passed=False),
               _override(call_id="c2", verdict="pass"),
               _override(call_id="c9", item_id="greeting", passed=True)]
    report = agreement_report(cards, reviews, pass_at=FIVE.pass_at)
    assert report.calls == 2 and report.reviewed_items == 3
    assert report.pass_fail_agreement == pytest.approx(2 / 3, abs=1e-3)
    assert report.verdicts_reviewed == 1 and report.verdict_agreement == 1.0
    assert report.skipped == ["c9/five_point v1.0/greeting: no automatic scorecard"]
    greeting = next(a for a in report.per_item if a.item_id == "greeting")
    assert (greeting.reviewed, greeting.agreed) == (2, 1)
    assert report.lines()[0].startswith("2 calls, 3 reviewed items")


def test_override_must_say_something():
    with pytest.raises(ValueError, match="gives a score, a pass/fail"):
        _override(item_id="greeting")
    with pytest.raises(ValueError, match="call-level override gives a verdict"):
        _override()


def test_overrides_round_trip_through_json(tmp_path):
    overrides = [_override(item_id="greeting", passed=False, comment="no name given"), _override(verdict="coach")]
    path = tmp_path / "reviews.json"
    save_overrides(path, overrides)
    assert load_overrides(path) == overrides
