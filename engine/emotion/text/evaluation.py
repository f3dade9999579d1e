"""Scoring the text-emotion classifier on a labelled TSV (``tests/data/text_emotion/{en,zh}.tsv``).

Shared by the bench script and the accuracy-floor test, so both measure the same thing.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from engine.emotion.text.classifier import TextEmotionClassifier

# The 3-way view a QA dashboard shows: is the customer upset, fine, or pleased?
THREE_WAY = {
    "angry": "negative",
    "frustrated": "negative",
    "anxious": "neutral-ish",
    "sad": "neutral-ish",
    "neutral": "neutral-ish",
    "satisfied": "positive",
}


@dataclass(frozen=True)
class LabelledUtterance:
    text: str
    label: str
    role: str


@dataclass(frozen=True)
class TextEmotionScore:
    language: str
    n: int
    accuracy: float
    macro_f1: float
    three_way_accuracy: float
    three_way_macro_f1: float
    ms_per_turn: float
    labels: list[str]
    confusion: list[list[int]]


def read_labelled_tsv(path: Path) -> list[LabelledUtterance]:
    """Rows of a ``text<TAB>label<TAB>role`` file (no quoting: the texts never hold tabs or quotes)."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [LabelledUtterance(r["text"], r["label"], r["role"]) for r in rows]


def evaluate(classifier: TextEmotionClassifier, rows: list[LabelledUtterance], language: str) -> TextEmotionScore:
    """Accuracy, macro-F1 and the 3-way collapse; time per turn with the model already prepared."""
    classifier.prepare(language)
    started = time.perf_counter()
    predicted = [p.label for p in classifier.predict([r.text for r in rows], language)]
    elapsed = time.perf_counter() - started
    truth = [r.label for r in rows]
    labels = list(THREE_WAY)
    truth3 = [THREE_WAY[x] for x in truth]
    predicted3 = [THREE_WAY.get(x, "neutral-ish") for x in predicted]
    return TextEmotionScore(
        language=language,
        n=len(rows),
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        three_way_accuracy=float(accuracy_score(truth3, predicted3)),
        three_way_macro_f1=float(f1_score(truth3, predicted3, average="macro", zero_division=0)),
        ms_per_turn=1000 * elapsed / max(len(rows), 1),
        labels=labels,
        confusion=confusion_matrix(truth, predicted, labels=labels).tolist(),
    )
