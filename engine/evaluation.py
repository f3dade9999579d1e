"""Quality metrics against ground truth: WER for English, CER for Mandarin (jiwer does the counting)."""

from __future__ import annotations

import re

import jiwer

from engine.asr.chinese import to_simplified

_ENGLISH = jiwer.Compose([
    jiwer.ToLowerCase(),
    jiwer.SubstituteRegexes({r"[’‘]": "'", r"-": " "}),
    jiwer.RemovePunctuation(),
    jiwer.RemoveMultipleSpaces(),
    jiwer.Strip(),
    jiwer.ReduceToListOfListOfWords(),
])
_HAN_OR_ALNUM = re.compile(r"[\u4e00-\u9fff0-9a-zA-Z]")


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER after lower-casing and removing punctuation on both sides."""
    return jiwer.wer(references, hypotheses, reference_transform=_ENGLISH, hypothesis_transform=_ENGLISH)


def chinese_characters(text: str) -> str:
    """Simplified Han characters (and digits/letters) only: punctuation and spaces are not scored."""
    return " ".join(_HAN_OR_ALNUM.findall(to_simplified(text)))


def character_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus CER for Mandarin, after converting both sides to simplified characters."""
    refs = [chinese_characters(r) for r in references]
    hyps = [chinese_characters(h) for h in hypotheses]
    return jiwer.wer(refs, hyps)
