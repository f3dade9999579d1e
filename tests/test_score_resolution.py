"""Resolution as a listener hears it: an agreed fix then the customer's acceptance, or a complaint left open.

The sentences here are held out: none is a phrase of the cue lists in configs/phrases/qa.*.yaml (a test
below keeps it so), so these tests check that the lists and the matcher carry over to words a QA lead
did not write down, in English and Mandarin. The check is the one the five-point standard configures.
"""

from __future__ import annotations

import pytest

from engine.score import load_phrasebook, load_standard, normalise
from engine.score.defects import call_context, detect
from engine.score.standard import Standard
from tests.callbuilder import analysis_of, scenario, turn

FIVE = load_standard("five_point")

FIXES = {
    "en": ["Okay, I've gone ahead and put a new pair in the post for you today, free of charge.",
           "Your money has been refunded to the card you paid with.",
           "I have just arranged for a courier to drop off a replacement tomorrow morning.",
           "Right, I reset the password on my side, so it should work now."],
    "zh": ["我已经为您申请了全额退款，三到五个工作日到账。",
           "好的，我这边已经帮您重新下单了，今天就给您补寄一件蓝色的。",
           "我们会给您免费换一个新的耳机，明天就能送到。",
           "您的密码刚刚已经重置好了，现在可以重新登录。"],
}
ACCEPTANCES = {
    "en": ["Oh, that sounds a lot better. Thank you.",
           "Perfect, thanks a million.",
           "Great, I really appreciate your help with this.",
           "Okay, that works for me, cheers."],
    "zh": ["好的，那就这样吧，谢谢你啊。",
           "行，那太好了，麻烦你了。",
           "嗯，这样可以，谢谢。",
           "没问题，感谢你的耐心。"],
}
COMPLAINTS = {
    "en": ["But how do I know it won't go wrong again next week?",
           "Nothing has changed, I still can't log in.",
           "Honestly, that is not good enough, I want to speak to a manager.",
           "I don't believe a word of that, this is the third time."],
    "zh": ["我刚刚又试了一下，还是不行啊。",
           "你们怎么又弄错了，我不能接受。",
           "这都第三次了，问题还是没解决。",
           "我凭什么相信你们这次不会再寄错？"],
}
OPENINGS = {"en": ("Thank you for calling, how can I help?", "The scarf you sent me is the wrong colour."),
            "zh": ("您好，请问有什么可以帮您？", "你们寄给我的围巾颜色不对。")}


def resolution(standard: Standard = FIVE):
    return next(i.checks[0] for s in standard.sections for i in s.items if i.id == "resolution_confirmed")


def run(turns, language="en", standard: Standard = FIVE):
    ctx = call_context(analysis_of(turns, language), standard, load_phrasebook("qa", language))
    ctx.defects = detect(ctx)
    return resolution(standard).run(ctx)


def call(language: str, *lines: tuple[str, str], gap: float = 1.0, emotions: bool = False):
    """The opening, then ``(role, text)`` lines, one after another (2.5 s each)."""
    greeting, problem = OPENINGS[language]
    script = [("agent", greeting), ("customer", problem), *lines]
    at, turns = 0.5, []
    for role, text in script:
        turns.append(turn(role, at, at + 2.5, text, "neutral" if emotions else None))
        at += 2.5 + gap
    return turns


def cases(kind: dict[str, list[str]]):
    return [pytest.param(language, text, id=f"{language}-{i}") for language in kind for i, text in
            enumerate(kind[language])]


def test_held_out_sentences_are_not_phrases_of_the_lists():
    for language in ("en", "zh"):
        book = load_phrasebook("qa", language)
        phrases = {p for key in ("fix", "acceptance", "customer_thanks", "unresolved") for p in book.phrases(key)}
        for text in (*FIXES[language], *ACCEPTANCES[language], *COMPLAINTS[language]):
            assert normalise(text, language) not in phrases


@pytest.mark.parametrize(("language", "fix"), cases(FIXES))
def test_agreed_fix_then_thanks_is_resolved_with_both_as_evidence(language, fix):
    accept = ACCEPTANCES[language][len(fix) % len(ACCEPTANCES[language])]
    turns = call(language, ("agent", fix), ("customer", accept))
    outcome = run(turns, language)
    assert outcome.fraction == 1.0, outcome.explanation
    fix_ev, accept_ev = outcome.evidence
    assert turns[2].start <= fix_ev.start < fix_ev.end <= turns[2].end
    assert turns[3].start <= accept_ev.start < accept_ev.end <= turns[3].end
    assert fix_ev.words and accept_ev.words and accept_ev.words in accept


@pytest.mark.parametrize(("language", "accept"), cases(ACCEPTANCES))
def test_each_held_out_acceptance_accepts_a_fix(language, accept):
    outcome = run(call(language, ("agent", FIXES[language][0]), ("customer", accept)), language)
    assert outcome.fraction == 1.0, outcome.explanation


@pytest.mark.parametrize(("language", "complaint"), cases(COMPLAINTS))
def test_complaint_after_the_agreed_fix_leaves_it_unresolved(language, complaint):
    turns = call(language, ("agent", FIXES[language][1]), ("customer", ACCEPTANCES[language][1]),
                 ("customer", complaint), ("agent", OPENINGS[language][0]))
    outcome = run(turns, language)
    assert outcome.fraction == 0.0, outcome.explanation
    assert outcome.evidence[0].start >= turns[4].start and "open" in outcome.explanation


@pytest.mark.parametrize("language", ["en", "zh"])
def test_doubt_answered_by_a_fix_then_accepted_is_resolved(language):
    # The customer's doubt is not the last word when the agent answers it and the customer then accepts.
    turns = call(language, ("agent", FIXES[language][2]), ("customer", COMPLAINTS[language][0]),
                 ("agent", FIXES[language][3]), ("customer", ACCEPTANCES[language][0]))
    outcome = run(turns, language)
    assert outcome.fraction == 1.0, outcome.explanation
    assert outcome.evidence[0].start >= turns[4].start  # the fix that answered the doubt


@pytest.mark.parametrize("language", ["en", "zh"])
def test_thanks_without_a_fix_on_record_stays_unclear(language):
    info = {"en": "Your order number is four five six, it left our warehouse on Monday.",
            "zh": "您的订单号是四五六，周一已经从仓库发出。"}[language]
    outcome = run(call(language, ("agent", info), ("customer", ACCEPTANCES[language][2])), language)
    assert outcome.fraction == 0.5 and "no fix" in outcome.explanation


@pytest.mark.parametrize("language", ["en", "zh"])
def test_fix_the_customer_never_accepts_scores_between(language):
    outcome = run(call(language, ("agent", FIXES[language][0])), language)
    assert outcome.fraction == 0.75 and "no acceptance" in outcome.explanation


def test_old_complaint_in_a_long_call_is_unclear_not_unresolved():
    # "still" at the start is the customer's account of the problem, not the last word on it.
    turns = call("en", ("customer", COMPLAINTS["en"][1]), *[("agent", "Let me look into that.")] * 20)
    assert run(turns).fraction == 0.5


@pytest.mark.parametrize("language", ["en", "zh"])
def test_thanks_after_a_complaint_with_no_fix_is_unclear_not_unresolved(language):
    turns = call(language, ("customer", COMPLAINTS[language][1]), ("agent", OPENINGS[language][0]),
                 ("customer", ACCEPTANCES[language][3]))
    assert run(turns, language).fraction == 0.5


def test_polite_no_at_the_end_of_a_calm_call_is_no_complaint():
    turns = call("en", ("agent", "Is there anything else I can help you with today?"),
                 ("customer", "No, I don't believe so. That's everything, bye."))
    assert run(turns).fraction == 0.5


def test_words_inside_a_complaint_accept_nothing():
    turns = call("en", ("agent", FIXES["en"][0]), ("customer", "Well, that's not great at all."))
    outcome = run(turns)
    assert outcome.fraction == 0.0 and "not great" in outcome.evidence[0].words


def test_customer_still_angry_at_the_end_is_an_open_complaint():
    turns = call("en", ("agent", "Please hold on."), ("customer", "Kids are talking by the door."), emotions=True)
    turns[-1] = turns[-1].model_copy(update={"emotion": turn("customer", 0, 1, "", "angry").emotion})
    assert run(turns).fraction == 0.0
    turns[-1] = turns[-1].model_copy(update={"emotion": turn("customer", 0, 1, "", "neutral").emotion})
    assert run(turns).fraction == 0.5


def _oracle(language: str, name: str):
    """The built scenario's script as turns (the oracle analysis, without synthesising its audio)."""
    at, turns = 0.5, []
    for line in scenario(name, language):
        length = 0.4 * (len(line.text.split()) if language == "en" else len(line.text) / 3)
        turns.append(turn(line.role, at, at + length, line.text, line.emotion or "neutral"))
        at += length + 0.6
    return turns


@pytest.mark.parametrize("language", ["en", "zh"])
def test_built_call_ending_with_the_complaint_open_is_not_resolved(language):
    assert run(_oracle(language, "clean"), language).fraction == 1.0
    angered = run(_oracle(language, "customer_angered"), language)
    assert angered.fraction == 0.0, angered.explanation


def test_checklist_reads_resolution_the_same_way():
    checklist = load_standard("qa_checklist")
    check = next(c for s in checklist.sections for i in s.items for c in i.checks if c.type == "resolution")
    assert check == resolution()
