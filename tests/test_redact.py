"""Redaction without audio models: checksums, spoken digits, detection and masking of constructed calls."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.audio import Recording
from engine.config import ConfigError
from engine.record import (
    CallInfo,
    Event,
    Evidence,
    RedactedSpan,
    Scorecard,
    ScorecardItem,
    Segment,
    Word,
)
from engine.redact import Redactor, redaction_summary
from engine.redact.audio import fill_spans
from engine.redact.checksums import cn_id_check_char, cn_resident_id_valid, luhn_valid
from engine.redact.config import AudioMaskConfig, RedactConfig
from engine.redact.mask import TextMasker
from engine.redact.spoken import digit_runs
from engine.redact.tokens import text_tokens
from tests.callbuilder import CLEAN, Line, analysis_of
from tests.redact_calls import PlantedValue, leaks, spoken_analysis, string_values

CARD = "4532015112830366"     # passes Luhn
CN_ID = "11010519491231002X"  # GB 11643 check character X


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor(RedactConfig(enabled=True))


@pytest.fixture(scope="module")
def mask(redactor):
    return lambda text: TextMasker(redactor.detector, [], redactor.config.max_digit_gap_s)(text)


def test_luhn_and_resident_id_checks_tell_valid_numbers_from_one_digit_off():
    assert luhn_valid(CARD) and luhn_valid("378282246310005") and luhn_valid("6011111111111117")
    assert not luhn_valid(CARD[:-1] + "7") and not luhn_valid("1234567812345678")
    assert cn_resident_id_valid(CN_ID) and cn_id_check_char(CN_ID[:17]) == "X"
    assert not cn_resident_id_valid(CN_ID[:17] + "1")
    assert not cn_resident_id_valid("110105194913310021")  # month 13 does not exist


@pytest.mark.parametrize("text, digits", [
    ("four five three two", "4532"),
    ("4532 1122, 3344-5566", "4532112233445566"),
    ("double four oh seven", "4407"),
    ("forty five thirty two", "4532"),
    ("eight hundred", "800"),
    ("四五三二", "4532"),
    ("幺三八两洞", "13820"),
    ("一一零一零五一九四九一二三一零零二叉", CN_ID),
])
def test_digits_are_read_however_the_asr_wrote_them(text, digits):
    tokens, _ = text_tokens(text)
    assert [run.digits for run in digit_runs(tokens, 2.0)] == [digits]


@pytest.mark.parametrize("text, tag", [
    (f"my card number is {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}", "CARD"),
    ("it is four five three two zero one five one one two eight three zero three six six", "CARD"),
    ("卡号是四五三二零一五一一二八三零三六六", "CARD"),
    (f"身份证号是{CN_ID}", "ID"),
    ("我的手机号是一三八一二三四五六七八", "PHONE"),
    ("call me on four one five, five five five, two six seven one", "PHONE"),
    ("my number is +44 20 7946 0958", "PHONE"),
    ("my e-mail is jane.miller@example.com", "EMAIL"),
    ("it is jane dot miller at example dot com", "EMAIL"),
    ("my date of birth is the fifth of May, nineteen eighty", "DOB"),
    ("my social security number is 123 45 6789", "ID"),
    ("the account number is 12345678", "ACCOUNT"),
])
def test_each_entity_type_is_masked_with_its_tag(mask, text, tag):
    masked = mask(text)
    assert f"[{tag}]" in masked
    assert not leaks(masked, [PlantedValue("x", 0, digits="45320151"), PlantedValue("x", 0, digits="1101051949"),
                              PlantedValue("x", 0, digits="13812345678"), PlantedValue("x", 0, digits="4155552671"),
                              PlantedValue("x", 0, words=("jane", "miller", "nineteen"))])


def test_a_card_number_misheard_by_one_digit_is_masked_after_its_cue(mask):
    misheard = CARD[:5] + ("1" if CARD[5] != "1" else "2") + CARD[6:]
    assert not luhn_valid(misheard)
    assert mask(f"the card number is {misheard}") == "the card number is [CARD]"
    assert mask(f"the order was {misheard}") == f"the order was {misheard}"


@pytest.mark.parametrize("text, masked", [
    ("我的出生日期是一九八零年五月五日。", "我的出生日期是[DOB]。"),
    ("我的生日是1980年5月5日，谢谢", "我的生日是[DOB]，谢谢"),
    ("my birthday is 05/05/1980 thanks", "my birthday is [DOB] thanks"),
    ("I was born on May 5th, 1980, in Ohio", "I was born on [DOB] in Ohio"),
    (f"my card number is {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]} 0827 731",
     "my card number is [CARD] [EXPIRY] [CVV]"),
])
def test_dates_of_birth_and_a_card_read_in_one_breath(mask, text, masked):
    assert mask(text) == masked


def test_expiry_and_security_code_after_a_card_get_their_own_tags(mask):
    masked = mask(f"card {CARD}, it expires zero eight twenty seven and the security code is seven three one")
    assert masked == "card [CARD] it expires [EXPIRY] and the security code is [CVV]"


def test_account_and_routing_numbers_each_follow_their_own_cue(mask):
    assert mask("account number 12345678 and routing number 021000021") == \
        "account number [ACCOUNT] and routing number [ROUTING]"


@pytest.mark.parametrize("text", [
    "It usually happens around eight in the evening, at 8:30 or 10.30.",
    "I paid $45.99 for 3 routers and 200 cables on May 5th 2026.",
    "The payment of forty five dollars is done, on the third of December at ten thirty.",
    "Your order 12345 ships in 2 days; it costs 1,299 dollars.",
    "The card ending 1234 was charged 4532 yuan.",        # four digits and no Luhn: not a card
    "Visit acme.com or call our line, it is open 24 hours.",
    "请在晚上八点左右联系，三百元，两个路由器，十二月三日。",
    "Call 123 456 7890 tomorrow.",                        # not a valid number anywhere
    "my id card number is 110105194912310021 wrong",      # wrong check character, and no ID cue
])
def test_times_amounts_quantities_and_invalid_numbers_stay(mask, text):
    if "id card number" in text:  # the cue "id number" is not said, and the check character is wrong
        assert "[ID]" not in mask(text)
    else:
        assert mask(text) == text


def test_a_year_or_an_amount_after_an_id_cue_is_not_an_id(mask):
    said = "我核实一下您的身份。您是二零二三年开的户，每月一百二十元。"
    assert mask(said) == said
    assert mask("Thanks, your social security is verified; that is 1200 dollars.") == \
        "Thanks, your social security is verified; that is 1200 dollars."
    assert mask("我核实一下您的身份。身份证后四位是一二三四。") == "我核实一下您的身份。身份证后四位是[ID]。"


def test_phone_number_edge_cases_follow_the_phonenumbers_library(mask):
    assert "[PHONE]" in mask("reach me on 010 1234 5678")          # a Beijing land line
    assert "[PHONE]" in mask("reach me on eight six one three eight one two three four five six seven eight")
    assert mask("reach me on 555 1234") == "reach me on 555 1234"  # seven digits: no area code, no number
    assert mask("reach me on 1381234567") == "reach me on 1381234567"  # a mobile one digit short


def test_clean_scripts_lose_only_the_date_of_birth_and_the_id_digits(redactor):
    """The clean calls say one entity each (a date of birth; the last four of an ID): nothing else goes."""
    for language, expected in (("en", {"date_of_birth": 1}), ("zh", {"national_id": 1})):
        analysis = spoken_analysis(CLEAN[language], language)
        before = [w.text for w in analysis.transcript.words]
        redaction = redactor.run(analysis)
        assert redaction.counts == expected
        changed = [b.strip() for b, w in zip(before, analysis.transcript.words, strict=True) if b != w.text]
        assert changed == (["fifth", "of", "May,", "nineteen", "eighty."] if language == "en"
                           else ["一", "二", "三", "四"])
        # The agent's question is kept, so a verification check still sees it.
        assert any("date of birth" in t.text or "身份证" in t.text for t in analysis.turns)


def test_telephone_reference_transcript_has_nothing_to_redact(redactor, shared_data):
    stm = shared_data / "calls" / "telephone_2spk.stm"
    lines = [line.split(maxsplit=5) for line in stm.read_text().splitlines() if line.strip()]
    speakers = sorted({line[2] for line in lines})
    words: list[Word] = []
    for _, _, speaker, start, end, text in lines:
        parts = text.split()
        step = (float(end) - float(start)) / len(parts)
        words += [Word(text=p, start=float(start) + i * step, end=float(start) + (i + 1) * step, probability=1.0,
                       channel=speakers.index(speaker)) for i, p in enumerate(parts)]
    analysis = analysis_of([], words=words)
    text_before = " ".join(w.text for w in words)
    assert redactor.run(analysis).counts == {}
    assert " ".join(w.text for w in analysis.transcript.words) == text_before


def test_every_text_field_of_the_analysis_is_masked_and_the_checks_still_read(redactor):
    script = [Line("agent", "Could you give me the card number and your date of birth?"),
              Line("customer", f"Sure, {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}, and I was born on "
                               "the fifth of May, nineteen eighty. Mail me at jane.miller@example.com")]
    analysis = spoken_analysis(script)
    said = analysis.turns[1].text
    snippet = f"{CARD[8:12]} {CARD[12:]}, and I was born"  # evidence cut in the middle of the card
    evidence = [Evidence(start=1.0, end=5.0, speaker="channel_1", words=snippet)]
    analysis.transcript.segments = [Segment(channel=1, start=1, end=9, text=said, avg_logprob=0, no_speech_prob=0,
                                            compression_ratio=1)]
    analysis.events = [Event(kind="defect.x", start=1, end=5, evidence=evidence, detail=f"customer said: {said}",
                             signals={"words": said})]
    analysis.scorecard = Scorecard(standard_id="s", standard_version="1", items=[ScorecardItem(
        item_id="verify", section="process", title="Verifies identity", score=1, max_score=1, weight=1,
        passed=True, explanation="agent asked for the date of birth; customer: " + said, evidence=evidence)])
    analysis.dynamics["note"] = said
    redaction = redactor.run(analysis)
    document = json.loads(analysis.to_json())
    values = [PlantedValue("card", 1, digits=CARD), PlantedValue("email", 1, words=("jane", "miller")),
              PlantedValue("dob", 1, words=("nineteen eighty",))]
    assert [s for s in string_values(document) if leaks(s, values)] == []
    assert redaction.counts == {"card": 1, "date_of_birth": 1, "email": 1}
    assert {span.channel for span in redaction.spans} == {1}
    assert "agent asked for the date of birth" in analysis.scorecard.items[0].explanation
    assert "[CARD]" in analysis.events[0].evidence[0].words and "[DOB]" in analysis.turns[1].text
    assert all(s.start < s.end for s in redaction.spans)
    line = redaction_summary(redaction)
    assert "card ×1" in line and CARD[:4] not in line


def test_rules_are_data_a_centre_adds_a_policy_number_and_turns_phone_off(tmp_path):
    rules = tmp_path / "centre.yaml"
    rules.write_text("entities:\n  policy_number: {tag: POLICY, kind: cued_number, cues: [policy number, 保单号], "
                     "min_digits: 8, max_digits: 10}\n", encoding="utf-8")
    config = RedactConfig(enabled=True, rules=["configs/redact/entities.yaml", str(rules)], entities={"phone": False})
    mask = TextMasker(Redactor(config).detector, [], 2.0)
    assert mask("my policy number is 12345678") == "my policy number is [POLICY]"
    assert mask("保单号是一二三四五六七八") == "保单号是[POLICY]"
    assert mask("call me on 415 555 2671") == "call me on 415 555 2671"


def test_a_bad_rule_file_names_the_file_and_the_key(tmp_path):
    rules = tmp_path / "bad.yaml"
    rules.write_text("entities:\n  policy: {tag: policy, kind: cued_number}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        Redactor(RedactConfig(rules=[str(rules)]))
    assert str(rules) in str(error.value) and "entities.policy" in str(error.value)
    with pytest.raises(ConfigError, match="unknown entity"):
        Redactor(RedactConfig(entities={"passport": True}))


def test_configured_names_and_customer_names_are_masked():
    config = RedactConfig(enabled=True, names=["Jane Miller"], entities={"customer_name": True})
    redactor = Redactor(config)
    analysis = spoken_analysis([Line("agent", "Hello, my name is Sam."),
                                Line("customer", "Hi, my name is Peter Novak."),
                                Line("agent", "Is Jane Miller on the account?")])
    redactor.run(analysis)
    text = " ".join(t.text for t in analysis.turns)
    assert "Sam" in text and "Peter" not in text and "Novak" not in text and "Jane" not in text


def _recording(channels: int = 2, seconds: float = 3.0, gain_db: float = 6.0) -> Recording:
    rng = np.random.default_rng(7)
    samples = (0.1 * rng.standard_normal((channels, int(seconds * 16000)))).astype(np.float32)
    info = CallInfo(call_id="c", source="c.wav", content_hash="0", duration=seconds, sample_rate=16000,
                    channels=channels, source_channels=channels)
    return Recording(samples=samples, channel_ids=list(range(channels)), info=info, gain_db=gain_db)


@pytest.mark.parametrize("fill", ["tone", "silence"])
def test_audio_span_is_filled_on_its_own_channel_only(fill):
    recording = _recording()
    config = AudioMaskConfig(fill=fill, margin_s=0.1, tone_dbfs=-20.0)
    out = fill_spans(recording, [RedactedSpan(entity="card", start=1.0, end=1.5, channel=1)], config)
    original = recording.samples * np.float32(10 ** (-recording.gain_db / 20))  # gain undone
    inside = slice(int(0.9 * 16000), int(1.6 * 16000))
    rms = float(np.sqrt(np.mean(out[1, inside][200:-200] ** 2)))
    assert rms == (pytest.approx(10 ** (-20 / 20) / np.sqrt(2), rel=0.02) if fill == "tone" else 0.0)
    assert np.allclose(out[0], original[0])                              # the other channel is untouched
    assert np.allclose(out[1, : inside.start], original[1, : inside.start])
    assert np.allclose(out[1, inside.stop:], original[1, inside.stop:])


def test_mono_span_is_filled_on_every_channel_and_the_copy_is_written(tmp_path):
    recording = _recording(channels=1, gain_db=0.0)
    config = RedactConfig(enabled=True, audio=AudioMaskConfig(directory=str(tmp_path), fill="silence"))
    analysis = spoken_analysis([])
    analysis.call = recording.info
    analysis.transcript.words = [Word(text=w, start=0.5 + 0.3 * i, end=0.7 + 0.3 * i, probability=1.0, channel=0)
                                 for i, w in enumerate(["call", "me", "on", "415", "555", "2671", "thanks"])]
    redaction = Redactor(config).run(analysis, recording)
    import soundfile as sf

    audio, rate = sf.read(redaction.audio)
    span = redaction.spans[0]
    assert rate == 16000 and Path(redaction.audio).parent == tmp_path
    assert np.all(audio[int(span.start * rate): int(span.end * rate)] == 0)
    assert np.abs(audio[: int((span.start - 0.3) * rate)]).max() > 0.05


@pytest.mark.parametrize("command", ["analyze", "batch"])
def test_redact_flag_with_a_bad_rules_file_stops_before_any_audio(tmp_path, command):
    from typer.testing import CliRunner

    from engine.cli import app

    bad = tmp_path / "rules.yaml"
    bad.write_text("entities:\n  policy: {tag: POLICY, kind: cued_number, min_digits: 9, max_digits: 3, "
                   "cues: [policy]}\n", encoding="utf-8")
    config = tmp_path / "centre.yaml"
    config.write_text(f"redact: {{rules: [{bad}]}}\n", encoding="utf-8")
    missing = tmp_path / "no_such_call.wav"
    args = [command, str(missing), "--redact", "--config", str(config)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")] if command == "analyze" else args)
    assert result.exit_code == 2
    assert str(bad) in result.output and "min_digits" in result.output
    # Without --redact the same configuration is not read for rules, and the missing file is the only error.
    plain = CliRunner().invoke(app, ["analyze", str(missing), "--config", str(config), "--out", str(tmp_path)])
    assert plain.exit_code == 1 and "min_digits" not in plain.output


def test_redaction_is_part_of_the_config_hash():
    from engine.config import load_config

    assert load_config(None, {"redact": {"enabled": True}}).hash() != load_config().hash()
    on = {"enabled": True, "audio": {"fill": "silence"}}
    assert load_config(None, {"redact": on}).hash() != load_config(None, {"redact": {"enabled": True}}).hash()
    # Off, its settings change nothing: a batch does not analyse its stored calls again for them.
    assert load_config(None, {"redact": {"audio": {"fill": "silence"}}}).hash() == load_config().hash()
