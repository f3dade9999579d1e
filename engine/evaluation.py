"""Quality metrics against ground truth: WER for English, CER for Mandarin, and the word diarization error
rate (who said each word) on both (jiwer does the counting and the alignment)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jiwer
import numpy as np
from scipy.optimize import linear_sum_assignment

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


@dataclass(frozen=True)
class WordDiarization:
    """Word diarization error rate (WDER): the share of recognised words given to the wrong party.

    As Shafey et al. (2019) define it: the hypothesis words are aligned to the reference words (jiwer's
    edit-distance alignment), and of the aligned pairs (correct and substituted words) those whose
    speaker differs, under the best one-to-one mapping of hypothesis speakers to reference speakers,
    are errors. Inserted and deleted words are ASR errors, not attribution errors, and are counted
    apart.
    """

    aligned: int
    wrong_speaker: int
    inserted: int
    deleted: int
    mapping: dict[str, str]

    @property
    def rate(self) -> float:
        return self.wrong_speaker / self.aligned if self.aligned else 0.0


SpeakerWords = list[tuple[str, str]]
"""(word or phrase as said, speaker) in the order spoken"""


def _tokens(words: SpeakerWords, language: str) -> tuple[list[str], list[str]]:
    tokens: list[str] = []
    speakers: list[str] = []
    for text, speaker in words:
        if language == "zh":
            pieces = chinese_characters(text).split()
        else:
            normalised = _ENGLISH(text)
            pieces = [piece for sentence in normalised for piece in sentence] if normalised else []
        tokens.extend(pieces)
        speakers.extend([speaker] * len(pieces))
    return tokens, speakers


def word_diarization_error(reference: SpeakerWords, hypothesis: SpeakerWords,
                           language: str = "en") -> WordDiarization:
    """WDER of ``hypothesis`` against ``reference``; Mandarin is aligned character by character."""
    ref_tokens, ref_speakers = _tokens(reference, language)
    hyp_tokens, hyp_speakers = _tokens(hypothesis, language)
    if not ref_tokens or not hyp_tokens:
        return WordDiarization(0, 0, len(hyp_tokens), len(ref_tokens), {})
    alignment = jiwer.process_words(" ".join(ref_tokens), " ".join(hyp_tokens))
    pairs: list[tuple[str, str]] = []
    for chunk in alignment.alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for offset in range(chunk.ref_end_idx - chunk.ref_start_idx):
                pairs.append((ref_speakers[chunk.ref_start_idx + offset], hyp_speakers[chunk.hyp_start_idx + offset]))
    ref_labels = sorted(set(ref_speakers))
    hyp_labels = sorted({hyp for _, hyp in pairs})
    agreement = np.zeros((len(hyp_labels), len(ref_labels)))
    for ref, hyp in pairs:
        agreement[hyp_labels.index(hyp), ref_labels.index(ref)] += 1
    rows, columns = linear_sum_assignment(agreement, maximize=True)
    mapping = {hyp_labels[r]: ref_labels[c] for r, c in zip(rows, columns, strict=True)}
    wrong = sum(1 for ref, hyp in pairs if mapping.get(hyp) != ref)
    return WordDiarization(aligned=len(pairs), wrong_speaker=wrong, inserted=alignment.insertions,
                           deleted=alignment.deletions, mapping=mapping)
