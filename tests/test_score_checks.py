"""Each check family on constructed turns, edge cases included."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from engine.record import Event, Word
from engine.score import load_phrasebook, load_standard
from engine.score.checks import Check
from engine.score.context import CallContext
from engine.score.defects import call_context, detect
from tests.callbuilder import analysis_of, turn

CHECK = TypeAdapter(Check)
STANDARD = load_standard("five_point")


def run(spec: dict, turns, language="en", **fields):
    analysis = analysis_of(turns, language, **fields)
    ctx: CallContext = call_context(analysis, STANDARD, load_phrasebook("qa", language))
    ctx.defects = detect(ctx)
    return CHECK.validate_python(spec).run(ctx)


GREETING = {"type": "phrase_present", "phrases": ["greeting"], "role": "agent", "first_seconds": 15}


# -- phrases -------------------------------------------------------------------------------------------

def test_greeting_in_the_first_seconds_passes_with_its_evidence():
    outcome = run(GREETING, [turn("agent", 1.0, 4.0, "Good morning, thank you for calling."),
                             turn("customer", 4.5, 6.0, "Hi.")])
    assert outcome.fraction == 1.0
    assert outcome.evidence[0].start < 2.5 and "good morning" in outcome.evidence[0].words.lower()


def test_late_greeting_fails_and_shows_what_the_agent_opened_with():
    turns = [turn("agent", 1.0, 3.0, "Account number?"), turn("customer", 3.5, 16.0, "It is 1234."),
             turn("agent", 17.0, 19.0, "Hello, sorry, good morning.")]
    outcome = run(GREETING, turns)
    assert outcome.fraction == 0.0
    assert outcome.evidence[0].words == "Account number?" and "first 15 s" in outcome.explanation


def test_mandarin_greeting_in_traditional_characters_counts():
    outcome = run(GREETING, [turn("agent", 0.5, 3.0, "您好，歡迎致電客服中心")], "zh")
    assert outcome.fraction == 1.0


def test_closing_in_the_last_seconds():
    spec = {"type": "phrase_present", "phrases": ["closing"], "role": "agent", "last_seconds": 20}
    turns = [turn("agent", 0, 2, "Goodbye for now."), turn("customer", 3, 60, "long story"),
             turn("agent", 61, 63, "Okay.")]
    assert run(spec, turns).fraction == 0.0
    assert run(spec, [*turns, turn("agent", 63.5, 65, "Have a nice day, bye.")]).fraction == 1.0


def test_min_count_grades_politeness():
    spec = {"type": "phrase_present", "phrases": ["polite"], "role": "agent", "min_count": 2}
    assert run(spec, [turn("agent", 0, 2, "Please hold.")]).fraction == 0.5
    assert run(spec, [turn("agent", 0, 2, "Please hold."), turn("agent", 3, 4, "Thank you.")]).fraction == 1.0


def test_prohibited_phrase_is_found_with_its_time_and_words():
    spec = {"type": "phrase_absent", "phrases": ["prohibited"], "role": "agent"}
    outcome = run(spec, [turn("agent", 0, 2, "Hello."), turn("agent", 10, 12, "Calm down, sir.")])
    assert outcome.fraction == 0.0
    assert outcome.evidence[0].start >= 10 and "Calm down" in outcome.evidence[0].words


def test_prohibited_phrase_by_the_customer_is_not_the_agents_fault():
    spec = {"type": "phrase_absent", "phrases": ["prohibited"], "role": "agent"}
    assert run(spec, [turn("customer", 0, 2, "Calm down? I am calm!")]).fraction == 1.0


@pytest.mark.parametrize(("texts", "expected"), [
    (["For security, can you confirm your date of birth?", "Thanks. Your balance is 20 dollars."], 1.0),
    (["Your balance is 20 dollars.", "Can you confirm your date of birth?"], 0.0),
])
def test_verification_must_come_before_account_details(texts, expected):
    spec = {"type": "phrase_before", "first": ["verification"], "then": ["account_details"]}
    outcome = run(spec, [turn("agent", 0, 3, texts[0]), turn("agent", 5, 8, texts[1])])
    assert outcome.fraction == expected


def test_verification_without_account_details_is_not_assessed():
    spec = {"type": "phrase_before", "first": ["verification"], "then": ["account_details"]}
    assert run(spec, [turn("agent", 0, 3, "Hello.")]).fraction is None


# -- empathy ------------------------------------------------------------------------------------------

def test_empathy_after_customer_anger_by_emotion():
    spec = {"type": "empathy_after_negativity"}
    turns = [turn("agent", 0, 2, "Hello.", "neutral"),
             turn("customer", 2.5, 5, "Kids are talking by the door.", "angry"),
             turn("agent", 5.5, 8, "I'm so sorry about that.", "neutral")]
    assert run(spec, turns).fraction == 1.0
    turns[2] = turn("agent", 5.5, 8, "What is your account number?", "neutral")
    outcome = run(spec, turns)
    assert outcome.fraction == 0.0 and outcome.evidence[0].start == 2.5


def test_empathy_falls_back_to_complaint_words_without_emotion():
    spec = {"type": "empathy_after_negativity"}
    turns = [turn("customer", 0, 3, "This is ridiculous, I have waited a week."),
             turn("agent", 3.5, 6, "I understand, let me fix it.")]
    assert run(spec, turns).fraction == 1.0
    assert run(spec, [turns[0], turn("agent", 3.5, 6, "Account number?")]).fraction == 0.0


def test_no_negativity_needs_no_empathy():
    assert run({"type": "empathy_after_negativity"}, [turn("customer", 0, 2, "Hello there.")]).fraction == 1.0


# -- dynamics -----------------------------------------------------------------------------------------

def test_talk_ratio_outside_the_band_points_at_the_monologue():
    spec = {"type": "talk_ratio", "role": "agent", "min_share": 0.25, "max_share": 0.7}
    turns = [turn("agent", 0, 50, "a long monologue"), turn("customer", 51, 53, "ok")]
    outcome = run(spec, turns)
    assert outcome.fraction < 1 and outcome.evidence[0].end == 50


def test_talk_ratio_prefers_the_diarization_measure():
    spec = {"type": "talk_ratio", "role": "agent", "min_share": 0.25, "max_share": 0.7}
    turns = [turn("agent", 0, 50, "a long monologue"), turn("customer", 51, 53, "ok")]
    assert run(spec, turns, dynamics={"talk_ratio": {"agent": 0.5, "customer": 0.5}}).fraction == 1.0


def test_speaking_rate_in_range_and_too_fast():
    spec = {"type": "speaking_rate", "role": "agent"}
    steady = [turn("agent", i * 10, i * 10 + 4, " ".join(["word"] * 10)) for i in range(3)]  # 150 wpm
    assert run(spec, steady).fraction == 1.0
    rushed = [turn("agent", i * 10, i * 10 + 2, " ".join(["word"] * 10)) for i in range(3)]  # 300 wpm
    assert run(spec, rushed).fraction < 0.7


def test_uneven_speaking_rate_is_marked_down():
    spec = {"type": "speaking_rate", "role": "agent"}
    turns = [turn("agent", 0, 6, " ".join(["word"] * 10)), turn("agent", 10, 12.5, " ".join(["word"] * 10))]
    outcome = run(spec, turns)
    assert outcome.fraction < 1 and "uneven" in outcome.explanation


def test_mandarin_speaking_rate_counts_characters():
    spec = {"type": "speaking_rate", "role": "agent"}
    assert run(spec, [turn("agent", 0, 4, "您好欢迎致电客服中心很高兴为您服务")], "zh").fraction == 1.0  # 240/min


def test_hesitation_counts_fillers_and_mid_sentence_pauses():
    spec = {"type": "hesitation", "role": "agent", "max_fillers_per_100": 4, "max_pause_seconds": 2}
    fluent = [turn("agent", 0, 3, "I can help you with that today.")]
    assert run(spec, fluent).fraction == 1.0
    fillers = [turn("agent", 0, 3, "um I uh can um help uh you")]
    assert run(spec, fillers).fraction < 1
    words = [Word(text="I", start=0.0, end=0.2, probability=1), Word(text="see", start=3.5, end=3.8, probability=1)]
    paused = [turn("agent", 0, 3.8, "I see", words=[0, 1])]
    outcome = run(spec, paused, words=words)
    assert outcome.fraction < 1 and outcome.evidence[0].start == 0.0


def test_hold_asked_for_and_thanked_for():
    spec = {"type": "hold_etiquette"}
    turns = [turn("agent", 0, 3, "Can I put you on hold for a moment?"), turn("customer", 3.5, 4, "Sure."),
             turn("agent", 40, 43, "Thank you for holding, I found it.")]
    outcome = run(spec, turns)
    assert outcome.fraction == 1.0 and outcome.evidence[0].start == 4


def test_hold_not_thanked_loses_half():
    spec = {"type": "hold_etiquette"}
    turns = [turn("agent", 0, 3, "Please hold."), turn("agent", 40, 43, "Right, I found it.")]
    outcome = run(spec, turns)
    assert outcome.fraction == 0.5 and "not thanked after" in outcome.explanation


def test_hold_from_diarization_events_not_asked_for():
    spec = {"type": "hold_etiquette"}
    turns = [turn("agent", 0, 3, "Right."), turn("agent", 40, 43, "Thanks for waiting.")]
    events = [Event(kind="hold", start=3.0, end=40.0)]
    outcome = run(spec, turns, events=events, dynamics={"talk_ratio": {"agent": 1.0}})
    assert outcome.fraction == 0.5 and "not asked before" in outcome.explanation


def test_silence_share_counts_long_gaps_only():
    spec = {"type": "silence_share", "min_gap_seconds": 2, "max_share": 0.15}
    chatty = [turn("agent" if i % 2 else "customer", i * 2.0, i * 2.0 + 1.5, "word") for i in range(20)]
    assert run(spec, chatty).fraction == 1.0
    quiet = [turn("agent", 0, 2, "hello"), turn("customer", 12, 14, "hi")]
    assert run(spec, quiet).fraction < 1


# -- emotion ------------------------------------------------------------------------------------------

def test_emotion_outcome_is_not_assessed_without_emotion():
    outcome = run({"type": "emotion_outcome"}, [turn("customer", 0, 2, "hi")])
    assert outcome.fraction is None and outcome.explanation.startswith("not assessed")


def test_customer_ending_calmer_than_they_began_passes():
    turns = [turn("customer", 0, 2, "a", "angry"), turn("agent", 2.5, 4, "b", "neutral"),
             turn("customer", 5, 6, "c", "happy")]
    outcome = run({"type": "emotion_outcome", "edge_turns": 1}, turns)
    assert outcome.fraction == 1.0 and "better" in outcome.explanation


def test_customer_still_negative_at_the_end_fails():
    turns = [turn("customer", 0, 2, "a", "neutral"), turn("customer", 5, 6, "c", "angry")]
    assert run({"type": "emotion_outcome", "edge_turns": 1}, turns).fraction == 0.0


# -- resolution ---------------------------------------------------------------------------------------

def test_resolution_cue_then_customer_complaint_means_unresolved():
    spec = {"type": "resolution"}
    turns = [turn("agent", 0, 2, "I've reset your router, you're all set."),
             turn("customer", 3, 5, "It's still not working.")]
    outcome = run(spec, turns)
    assert outcome.fraction == 0.0 and outcome.evidence[0].start >= 3
    fixed = [*turns, turn("agent", 6, 8, "Now it has been fixed, it works now.")]
    assert 0.5 < run(spec, fixed).fraction < 1.0  # a fix the customer has not accepted yet
    assert run(spec, [*fixed, turn("customer", 8.5, 9.5, "Oh good, thanks.")]).fraction == 1.0


def test_no_resolution_cue_either_way_is_unclear():
    assert run({"type": "resolution"}, [turn("agent", 0, 2, "Hello.")]).fraction == 0.5


def test_i_dont_know_needs_a_follow_up():
    spec = {"type": "follow_up", "within_seconds": 30}
    assert run(spec, [turn("agent", 0, 2, "I don't know.")]).fraction == 0.0
    followed = [turn("agent", 0, 2, "I don't know,"), turn("agent", 2.5, 4, "but let me find out for you.")]
    assert run(spec, followed).fraction == 1.0
    assert run(spec, [turn("agent", 0, 2, "我不太清楚，我帮您查一下。")], "zh").fraction == 1.0


# -- defects as items ---------------------------------------------------------------------------------

def test_no_defect_item_is_not_assessed_when_its_defects_need_emotion():
    spec = {"type": "no_defect", "defects": ["agent_angered_customer"]}
    assert run(spec, [turn("agent", 0, 2, "hello")]).fraction is None


def test_no_defect_item_grades_by_count_and_shows_the_defect():
    spec = {"type": "no_defect", "defects": ["agent_interrupted_customer"], "penalty": 0.5}
    turns = [turn("customer", 0, 6, "my router keeps dropping the connection every evening"),
             turn("agent", 3, 5, "yes yes I know that already")]
    outcome = run(spec, turns)
    assert outcome.fraction == 0.5 and outcome.evidence[0].start == 3


def test_unknown_defect_name_is_refused():
    with pytest.raises(ValueError, match="defects"):
        CHECK.validate_python({"type": "no_defect", "defects": ["rudeness"]})
