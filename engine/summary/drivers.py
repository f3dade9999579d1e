"""Call drivers: what the day's customers called about, grouped, with the share of calls each covers.

A call's opening is the customer's first turns. Openings become TF-IDF vectors of their words (English
words; Chinese as character bigrams, which need no word segmenter and work well on short texts) joined
with TF-IDF of character n-grams of those words, so that "charged" and "charge" count as alike without a
stemmer. They are grouped by k-means, the number of groups chosen by silhouette, and each group is labelled
with its heaviest words.
Simple, deterministic for a seed, and fast on a day of calls on a CPU.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

from engine.record import CallAnalysis
from engine.summary.config import DriversConfig

_TOKENS = re.compile(r"[a-z][a-z0-9']+|[\u3400-\u4dbf\u4e00-\u9fff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_SILHOUETTE_SAMPLE = 2000  # silhouette is quadratic: score k on a seeded sample of a large day
NO_OPENING = "(no customer opening)"
# scikit-learn's English stop words include words that are often *why* a customer calls; keep those.
_DRIVER_WORDS = frozenset({"bill", "amount", "due", "interest", "system", "move", "fire", "empty", "full",
                           "detail", "found", "find", "back", "show"})
_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) - _DRIVER_WORDS


@dataclass(frozen=True)
class CallDriver:
    label: str
    terms: list[str]
    calls: int
    share: float
    call_ids: list[str]
    examples: list[str]


def opening_text(analysis: CallAnalysis, config: DriversConfig) -> str:
    """The customer's first turns (by start time) that begin within the opening window."""
    turns = sorted((t for t in analysis.turns if t.role == "customer"), key=lambda t: t.start)
    chosen = [t.text.strip() for t in turns if t.start < config.opening_seconds][: config.opening_turns]
    return " ".join(t for t in chosen if t)


def _tokenizer(stop_words: frozenset[str]) -> Callable[[str], list[str]]:
    def tokenize(text: str) -> list[str]:
        tokens = []
        for match in _TOKENS.findall(text.lower()):
            if _CJK.match(match):
                grams = [match] if len(match) == 1 else [match[i:i + 2] for i in range(len(match) - 1)]
                tokens.extend(g for g in grams if g not in stop_words)
            elif match not in stop_words and match.strip("'") not in stop_words:
                tokens.append(match)
        return tokens

    return tokenize


def _choose_groups(matrix: sparse.csr_matrix, distinct: int, config: DriversConfig) -> np.ndarray:
    """k-means labels for the k (2 … max_groups) with the best silhouette; one group for tiny days."""
    n = matrix.shape[0]
    if n < 3 or distinct < 2:
        return np.zeros(n, dtype=int)
    best: tuple[float, np.ndarray] | None = None
    for k in range(2, min(config.max_groups, n - 1, distinct) + 1):
        labels = KMeans(n_clusters=k, n_init=4, random_state=config.seed).fit_predict(matrix)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(matrix, labels, metric="cosine", random_state=config.seed,
                                 sample_size=min(n, _SILHOUETTE_SAMPLE))
        if best is None or score > best[0]:
            best = (float(score), labels)
    return best[1] if best is not None else np.zeros(n, dtype=int)


def _label_terms(present: sparse.csr_matrix, members: np.ndarray, terms: np.ndarray, n: int) -> list[str]:
    """Words most of the group says and the other groups do not: share of the group's openings with the
    word, less the share of the other openings with it (ties: the more common in the group)."""
    inside = np.asarray(present[members].mean(axis=0)).ravel()
    others = np.setdiff1d(np.arange(present.shape[0]), members)
    outside = np.asarray(present[others].mean(axis=0)).ravel() if len(others) else np.zeros_like(inside)
    order = np.lexsort((-inside, -(inside - outside)))
    return [str(terms[i]) for i in order[:n] if inside[i] > outside[i]]


def call_drivers(calls: Sequence[tuple[str, str]], config: DriversConfig, total_calls: int | None = None
                 ) -> list[CallDriver]:
    """Group ``(call id, opening text)`` pairs; shares are of ``total_calls`` (default: the pairs given).

    Calls with an empty opening form their own entry, so the shares cover every call.
    """
    total = total_calls if total_calls is not None else len(calls)
    with_text = [(cid, text) for cid, text in calls if text.strip()]
    silent = [cid for cid, text in calls if not text.strip()]
    drivers: list[CallDriver] = []
    if with_text:
        stop = _STOP_WORDS | frozenset(w.lower() for w in config.stop_words)
        tokenize = _tokenizer(stop)
        vectorizer = TfidfVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None, sublinear_tf=True)
        try:
            matrix = vectorizer.fit_transform([text for _, text in with_text])
        except ValueError:  # nothing but stop words in every opening
            matrix = None
        if matrix is None:
            labels = np.zeros(len(with_text), dtype=int)
            terms = np.array([], dtype=object)
        else:
            pieces = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True).fit_transform(
                [" ".join(tokenize(text)) for _, text in with_text])
            features = normalize(sparse.hstack([matrix, pieces]).tocsr())
            labels = _choose_groups(features, len({text for _, text in with_text}), config)
            terms = vectorizer.get_feature_names_out()
            present = (matrix > 0).astype(float).tocsr()
        for group in sorted(set(labels.tolist())):
            members = np.flatnonzero(labels == group)
            if matrix is not None:
                top = _label_terms(present, members, terms, config.top_terms)
                centroid = np.asarray(matrix[members].mean(axis=0)).ravel()
                typical = members[np.argsort(-(matrix[members] @ centroid), kind="stable")]
            else:
                top, typical = [], members
            drivers.append(CallDriver(
                label=", ".join(top) or "(unclear)",
                terms=top,
                calls=len(members),
                share=round(len(members) / total, 4) if total else 0.0,
                call_ids=sorted(with_text[i][0] for i in members),
                examples=[with_text[i][1][:160] for i in typical[: config.examples]],
            ))
    if silent:
        drivers.append(CallDriver(NO_OPENING, [], len(silent), round(len(silent) / total, 4) if total else 0.0,
                                  sorted(silent), []))
    return sorted(drivers, key=lambda d: (-d.calls, d.label))
