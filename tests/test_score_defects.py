"""Service defects and recoveries on constructed turns: the right kind, time and evidence, and none too many."""

from __future__ import annotations

from engine.record import Event
from engine.score import find_defects, load_standard
from tests.callbuilder import analysis_of, turn

STANDARD = load_standard("five_point")

OPENING = turn("agent", 0.5, 3.0, "Thank you for calling, how can I help?", "neutral")
CLOSING_WORDS = "Thank you for calling, goodbye."


def kinds(events, prefix="defect."):
    return [e.kind for e in events if e.kind.startswith(prefix)]


def defects(turns, language="en", **fields):
    return find_defects(analysis_of(turns, language, **fields), STANDARD)


def polite_call(middle):
    last = max(t.end for t in middle) if middle else 3.0
    return [OPENING, *middle, turn("agent", last + 0.5, last + 2.5, CLOSING_WORDS, "neutral")]


def test_clean_constructed_call_has_no_defects():
    turns = polite_call([turn("customer", 3.5, 6, "My router is broken.", "neutral"),
                         turn("agent", 6.5, 9, "I'm sorry, I've reset it, you're all set.", "neutral"),
                         turn("customer", 9.5, 11, "Thanks, it works.", "happy")])
    assert kinds(defects(turns)) == []


def test_missing_greeting_points_at_the_agents_first_turn():
    turns = [turn("agent", 2.0, 4.0, "Account number?"), turn("customer", 4.5, 40, "1234"),
             turn("agent", 40.5, 42, CLOSING_WORDS)]
    found = [e for e in defects(turns) if e.kind == "defect.missing_greeting"]
    assert len(found) == 1 and found[0].evidence[0].start == 2.0 and found[0].evidence[0].words == "Account number?"


def test_missing_closing_points_at_the_agents_last_turn():
    turns = [OPENING, turn("customer", 3.5, 50, "ok"), turn("agent", 50.5, 52, "Done.")]
    found = [e for e in defects(turns) if e.kind == "defect.missing_closing"]
    assert found and found[0].start == 50.5 and found[0].evidence[0].words == "Done."


def test_account_details_before_verification_is_a_defect():
    turns = polite_call([turn("agent", 3.5, 6, "Your balance is 40 dollars."),
                         turn("agent", 6.5, 8, "Can you confirm your date of birth?")])
    found = [e for e in defects(turns) if e.kind == "defect.missing_verification"]
    assert found and found[0].evidence[0].start >= 3.5 and "balance" in found[0].evidence[0].words


def test_prohibited_phrase_in_mandarin_is_a_high_severity_defect():
    turns = [turn("agent", 0.5, 3, "您好，欢迎致电。"), turn("customer", 3.5, 5, "我的网络断了。"),
             turn("agent", 5.5, 8, "这个不归我管。"), turn("agent", 8.5, 10, "感谢您的来电，再见。")]
    found = [e for e in defects(turns, "zh") if e.kind == "defect.prohibited_phrase"]
    assert len(found) == 1 and found[0].severity == "high" and found[0].evidence[0].words == "不归我管"
    assert 5.5 < found[0].start < 8


def test_agent_starting_while_customer_speaks_is_an_interruption():
    turns = polite_call([turn("customer", 3.5, 9.0, "My router drops the connection every single evening"),
                         turn("agent", 6.0, 8.5, "Right, let me reset that router for you")])
    found = [e for e in defects(turns) if e.kind == "defect.agent_interrupted_customer"]
    assert len(found) == 1
    assert found[0].start == 6.0 and found[0].evidence[0].words.startswith("Right")
    assert found[0].evidence[1].start == 3.5


def test_backchannel_over_the_customer_is_not_an_interruption():
    turns = polite_call([turn("customer", 3.5, 9.0, "My router drops the connection every single evening"),
                         turn("agent", 5.0, 5.4, "mm-hm")])
    assert "defect.agent_interrupted_customer" not in kinds(defects(turns))


def test_agent_starting_as_customer_finishes_is_turn_taking():
    turns = polite_call([turn("customer", 3.5, 6.0, "My router is broken"),
                         turn("agent", 5.9, 8.0, "I can reset that for you now")])
    assert "defect.agent_interrupted_customer" not in kinds(defects(turns))


def test_customer_interrupting_the_agent_is_not_the_agents_defect():
    turns = polite_call([turn("agent", 3.5, 9.0, "Let me explain the options you have for the router"),
                         turn("customer", 5.0, 8.0, "No no no, I just want it fixed")])
    assert "defect.agent_interrupted_customer" not in kinds(defects(turns))


def test_diarization_interruption_events_are_preferred_and_mapped_to_roles():
    turns = polite_call([turn("customer", 3.5, 9.0, "My router drops the connection every evening"),
                         turn("agent", 9.1, 11.0, "I will reset it now")])
    events = [Event(kind="interruption", start=8.9, end=9.3, speaker="channel_0")]
    found = [e for e in defects(turns, events=events, dynamics={"talk_ratio": {"agent": 0.5}})
             if e.kind == "defect.agent_interrupted_customer"]
    assert len(found) == 1 and found[0].start == 8.9 and found[0].evidence[0].start == 9.1


def test_diarization_ran_and_found_no_interruption_means_none():
    turns = polite_call([turn("customer", 3.5, 9.0, "My router drops the connection every evening"),
                         turn("agent", 6.0, 8.5, "Right, let me reset that router for you")])
    assert "defect.agent_interrupted_customer" not in kinds(defects(turns, dynamics={"talk_ratio": {"agent": 0.5}}))


def test_long_silence_is_dead_air_with_the_gap_as_evidence():
    turns = polite_call([turn("customer", 3.5, 5.0, "Can you check my bill?"),
                         turn("agent", 13.0, 15.0, "Yes, it is fine.")])
    found = [e for e in defects(turns) if e.kind == "defect.dead_air"]
    assert len(found) == 1 and (found[0].start, found[0].end) == (5.0, 13.0)
    assert found[0].evidence[0].words == "" and found[0].evidence[1].words == "Can you check my bill?"


def test_announced_hold_is_not_dead_air():
    turns = polite_call([turn("customer", 3.5, 5.0, "Can you check my bill?"),
                         turn("agent", 5.5, 7.0, "Sure, can I put you on hold?"),
                         turn("agent", 30.0, 32.0, "Thank you for holding.")])
    assert "defect.dead_air" not in kinds(defects(turns))


def test_silence_shorter_than_the_threshold_is_not_dead_air():
    turns = polite_call([turn("customer", 3.5, 5.0, "Can you check my bill?"),
                         turn("agent", 8.0, 10.0, "Yes, it is fine.")])
    assert "defect.dead_air" not in kinds(defects(turns))


def test_diarization_dead_air_events_are_used():
    turns = polite_call([turn("customer", 3.5, 5.0, "hello"), turn("agent", 6.0, 8.0, "yes")])
    events = [Event(kind="dead_air", start=20.0, end=27.0)]
    found = [e for e in defects(turns, events=events, dynamics={"talk_ratio": {"agent": 0.5}})
             if e.kind == "defect.dead_air"]
    assert [(e.start, e.end) for e in found] == [(20.0, 27.0)]


def test_customer_anger_after_agent_turn_is_a_defect_with_that_turn_as_evidence():
    turns = polite_call([turn("customer", 3.5, 6, "My router is broken.", "neutral"),
                         turn("agent", 6.5, 9, "You should have read the manual.", "neutral"),
                         turn("customer", 9.5, 12, "Excuse me?!", "angry"),
                         turn("agent", 12.5, 14, "I'm sorry.", "neutral"),
                         turn("customer", 14.5, 16, "Fine.", "neutral")])
    found = [e for e in defects(turns) if e.kind == "defect.agent_angered_customer"]
    assert len(found) == 1 and found[0].severity == "high"
    assert found[0].evidence[0].start == 6.5 and found[0].evidence[0].words.startswith("You should")
    assert found[0].evidence[1].start == 9.5


def test_customer_who_calls_in_angry_was_not_angered_by_the_greeting():
    turns = polite_call([turn("customer", 3.5, 6, "This is the third time I call!", "angry"),
                         turn("agent", 6.5, 9, "I'm so sorry about that.", "neutral"),
                         turn("customer", 9.5, 12, "Okay.", "neutral")])
    assert "defect.agent_angered_customer" not in kinds(defects(turns))


def test_anger_long_after_the_agent_spoke_is_not_blamed_on_the_agent():
    turns = polite_call([turn("customer", 3.5, 6, "hello", "neutral"), turn("agent", 6.5, 7, "ok", "neutral"),
                         turn("customer", 30, 32, "ugh", "angry"), turn("customer", 32.5, 33, "fine", "neutral")])
    assert "defect.agent_angered_customer" not in kinds(defects(turns))


def test_recovery_names_the_agent_turn_that_calmed_the_customer():
    turns = polite_call([turn("customer", 3.5, 6, "This is the third time I call!", "angry"),
                         turn("agent", 6.5, 8, "What is your account?", "neutral"),
                         turn("customer", 8.5, 10, "Still waiting!", "angry"),
                         turn("agent", 10.5, 13, "I completely understand, I'm so sorry.", "neutral"),
                         turn("customer", 13.5, 15, "Okay, thanks.", "neutral"),
                         turn("customer", 15.5, 16, "Good.", "happy")])
    events = defects(turns)
    recovered = [e for e in events if e.kind == "recovery.customer_calmed"]
    assert len(recovered) == 1 and recovered[0].evidence[0].start == 10.5
    assert "defect.unresolved_escalation" not in kinds(events)


def test_escalation_still_negative_at_the_end_is_unresolved():
    turns = polite_call([turn("customer", 3.5, 6, "hello", "neutral"), turn("agent", 6.5, 7, "ok", "neutral"),
                         turn("customer", 7.5, 9, "This is useless!", "angry")])
    found = [e for e in defects(turns) if e.kind == "defect.unresolved_escalation"]
    assert found and found[0].severity == "critical" and found[0].evidence[0].start == 7.5


def test_agent_losing_composure_is_a_defect():
    turns = polite_call([turn("customer", 3.5, 6, "hello", "neutral"),
                         turn("agent", 6.5, 8, "I told you already!", "angry")])
    found = [e for e in defects(turns) if e.kind == "defect.agent_lost_composure"]
    assert found and found[0].evidence[0].start == 6.5


def test_emotion_defects_need_emotion_on_the_turns():
    turns = [t.model_copy(update={"emotion": None}) for t in polite_call(
        [turn("customer", 3.5, 6, "hello", "neutral"), turn("agent", 6.5, 7, "ok", "neutral"),
         turn("customer", 7.5, 9, "This is useless!", "angry")])]
    assert kinds(defects(turns)) == []


def test_find_defects_does_not_change_the_analysis():
    analysis = analysis_of([turn("agent", 0, 2, "Account?")])
    find_defects(analysis, STANDARD)
    assert analysis.events == [] and analysis.scorecard is None
