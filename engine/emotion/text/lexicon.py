"""Sentiment lexicons: a second, model-free opinion on a turn's valence, in [-1, 1].

English: VADER's compound score (it knows intensifiers, negation, "!!!" and shouting capitals).
Mandarin: SnowNLP's naive-Bayes positive probability, mapped to [-1, 1]. It was trained on product reviews,
so it is weak on plain requests; that is why it only tilts the embedding classifier instead of deciding.
Other languages have no lexicon here and score 0 (no opinion).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache


@cache
def _vader() -> Callable[[str], float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer()
    return lambda text: float(analyser.polarity_scores(text)["compound"])


@cache
def _snownlp() -> Callable[[str], float]:
    from snownlp import SnowNLP

    return lambda text: 2.0 * float(SnowNLP(text).sentiments) - 1.0


_LEXICONS: dict[str, Callable[[], Callable[[str], float]]] = {"en": _vader, "zh": _snownlp}


def has_lexicon(language: str) -> bool:
    return language in _LEXICONS


def lexicon_valence(texts: list[str], language: str) -> list[float]:
    """Valence in [-1, 1] per text from the language's lexicon; 0.0 for blank text or an unknown language."""
    if language not in _LEXICONS:
        return [0.0] * len(texts)
    score = _LEXICONS[language]()
    return [max(-1.0, min(1.0, score(text))) if text.strip() else 0.0 for text in texts]
