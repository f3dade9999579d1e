"""Scoring the text-emotion classifier on a labelled TSV (``tests/data/text_emotion/{en,zh}.tsv``).

Shared by the bench script and the accuracy-floor test, so both measure the same thing.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from engine.emotion.config import EmotionConfig
from engine.emotion.text.classifier import TextEmotion, TextEmotionClassifier

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


# ---- held-out complaints: is the upset customer heard? --------------------------------------------------------

HEATED = ("angry", "frustrated")


@dataclass(frozen=True)
class ComplaintSet:
    """Held-out customer-service sentences of one language: complaints (must read negative) and calm ones."""

    language: str
    complaints: list[str]
    calm: list[str]


@dataclass(frozen=True)
class ComplaintScore:
    """Through the turn-level fusion, as the emotion stage reads a turn with these words."""

    language: str
    voice: str
    """'none' (text only) or 'neutral' (a voice at the speaker's usual, full weight)."""
    recall: float
    """Share of the complaints read angry or frustrated."""
    calm_heated: float
    """Share of the calm sentences read angry or frustrated (false alarms)."""
    calm_neutral: float
    """Share of the calm sentences read neutral or satisfied."""
    missed: list[str]
    false_alarms: list[tuple[str, str]]


def read_complaint_set(path: Path) -> ComplaintSet:
    """A ``language`` / ``complaints`` / ``calm`` YAML file (tests/data/complaints.<language>.yaml)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return ComplaintSet(str(data["language"]), [str(s) for s in data["complaints"]], [str(s) for s in data["calm"]])


def fused_labels(results: list[TextEmotion], texts: list[str], language: str, config: EmotionConfig,
                 voice: str = "none") -> list[str]:
    """The fused label of each text (its classifier ``results``) as a customer turn of its own.

    ``voice``: 'none' (the words alone, as the stage fuses a turn the voice did not judge) or 'neutral': a voice
    as the calibration reads a turn that sounds like the speaker's usual (the conversational prior at the
    conversational arousal), heard for ``voice_full_seconds``, so at its full weight.
    """
    from engine.emotion.fusion import TextSignal, VoiceSignal, fuse
    from engine.emotion.stage import word_count
    from engine.record import Turn

    calibration = config.calibration
    heard = None
    if voice == "neutral":
        prior = {label: calibration.prior.get(label, calibration.prior_other) for label in config.voice.label_valence}
        total = sum(prior.values())
        heard = VoiceSignal({k: v / total for k, v in prior.items()}, calibration.conversational_arousal)
    elif voice != "none":
        raise ValueError(f"voice must be 'none' or 'neutral', not {voice!r}")
    duration = config.fusion.voice_full_seconds
    out = []
    for text, result in zip(texts, results, strict=True):
        words = word_count(Turn(speaker="customer", start=0.0, end=duration, text=text), language)
        signal = TextSignal(result.scores, result.valence, words, result.lexicon_valence, explicit=result.explicit)
        out.append(fuse(signal, heard, None, duration, config.fusion, config.voice, config.text.label_valence).label)
    return out


def score_complaints(classifier: TextEmotionClassifier, held_out: ComplaintSet, config: EmotionConfig,
                     voices: tuple[str, ...] = ("none", "neutral")) -> dict[str, ComplaintScore]:
    """Per voice: recall of angry/frustrated on the complaints, and what the calm sentences read, through the
    fusion (the sentences are classified once)."""
    language = held_out.language
    complaints = classifier.predict(held_out.complaints, language)
    calm = classifier.predict(held_out.calm, language)
    scores = {}
    for voice in voices:
        said = fused_labels(complaints, held_out.complaints, language, config, voice)
        heard = fused_labels(calm, held_out.calm, language, config, voice)
        scores[voice] = ComplaintScore(
            language=language, voice=voice,
            recall=sum(label in HEATED for label in said) / max(len(said), 1),
            calm_heated=sum(label in HEATED for label in heard) / max(len(heard), 1),
            calm_neutral=sum(label in ("neutral", "satisfied") for label in heard) / max(len(heard), 1),
            missed=[t for t, label in zip(held_out.complaints, said, strict=True) if label not in HEATED],
            false_alarms=[(t, label) for t, label in zip(held_out.calm, heard, strict=True)
                          if label not in ("neutral", "satisfied")],
        )
    return scores
