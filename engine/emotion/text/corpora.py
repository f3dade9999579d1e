"""Labelled dialogue corpora (``../shared/data/text_emotion/``) read as turns with our six labels.

Used offline by ``scripts/fit_text_emotion.py`` (fitting, choosing, reporting) and by the slow accuracy-floor
test; nothing here runs inside the engine. Every split is by dialogue (or TV series), never by turn, so two
turns of one conversation are never on both sides of a split.

Label mapping (why, in docs/text_emotion.md):

- DailyDialog / XDailyDialog: no emotion, surprise -> neutral; happiness -> satisfied; anger -> angry;
  disgust -> frustrated; fear -> anxious; sadness -> sad.
- GoEmotions (Ekman grouping): the same; a comment with several labels keeps each, weighted 1/k for fitting,
  and is left out of the single-label evaluation.
- CPED: anger -> angry; negative-other, disgust -> frustrated; worried, fear -> anxious; depress, sadness -> sad;
  happy, grateful, positive-other -> satisfied; neutral, relaxed, astonished -> neutral.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DAILYDIALOG_LABELS = {
    "no emotion": "neutral", "surprise": "neutral", "happiness": "satisfied", "anger": "angry",
    "disgust": "frustrated", "fear": "anxious", "sadness": "sad",
}
GOEMOTIONS_LABELS = {
    "anger": "angry", "disgust": "frustrated", "fear": "anxious", "joy": "satisfied", "neutral": "neutral",
    "sadness": "sad", "surprise": "neutral",
}
CPED_LABELS = {
    "anger": "angry", "negative-other": "frustrated", "disgust": "frustrated", "worried": "anxious",
    "fear": "anxious", "depress": "sad", "sadness": "sad", "happy": "satisfied", "grateful": "satisfied",
    "positive-other": "satisfied", "neutral": "neutral", "relaxed": "neutral", "astonished": "neutral",
}

# CPED here holds its validation split (5 TV series) and its test split (9 series). Fitting uses the
# validation split and four test series; two series choose the settings; three are reported and never chosen on.
CPED_FIT_TEST_SERIES = {"27", "29", "30", "34"}
CPED_VALIDATION_SERIES = {"28", "36"}
CPED_REPORT_SERIES = {"31", "35", "37"}


@dataclass(frozen=True)
class CorpusTurn:
    """One labelled turn; ``weight`` < 1 when a multi-label comment was split into one row per label."""

    text: str
    label: str
    dialogue: str
    weight: float = 1.0
    single_label: bool = True


def _tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def _bucket(key: str) -> float:
    """A stable number in [0, 1) per dialogue: splits that do not depend on file order or Python's hash seed."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 2**32


def dailydialog(root: Path, split: str) -> list[CorpusTurn]:
    """DailyDialog turns of one official split (``train``, ``validation``, ``test``)."""
    return [
        CorpusTurn(r["text"].strip(), DAILYDIALOG_LABELS[r["label"]], r["dialogue"])
        for r in _tsv(root / "en" / "dailydialog.tsv") if r["split"] == split and r["text"].strip()
    ]


def goemotions(root: Path, split: str) -> list[CorpusTurn]:
    """GoEmotions (Ekman) comments of ``train`` / ``dev`` / ``test``; each comment is its own 'dialogue'."""
    base = root / "en" / "goemotions_ekman"
    names = (base / "labels.txt").read_text(encoding="utf-8").split()
    turns: list[CorpusTurn] = []
    with open(base / f"{split}.tsv", encoding="utf-8", newline="") as handle:
        for text, indices, comment in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            labels = sorted({GOEMOTIONS_LABELS[names[int(i)]] for i in indices.split(",")})
            # "neutral" beside an emotion adds nothing: the emotion is what the annotator saw in it.
            if len(labels) > 1 and "neutral" in labels:
                labels.remove("neutral")
            turns.extend(CorpusTurn(text.strip(), label, comment, 1.0 / len(labels), len(labels) == 1)
                         for label in labels)
    return turns


def cped(root: Path, series: Iterable[str] | None, include_validation_split: bool = False) -> list[CorpusTurn]:
    """CPED turns of the given TV series of its test split (all of them for ``None``), plus its validation split."""
    wanted = set(series) if series is not None else None
    files = [("cped_test.csv", wanted)] + ([("cped_valid.csv", None)] if include_validation_split else [])
    turns: list[CorpusTurn] = []
    for name, keep in files:
        with open(root / "zh" / name, encoding="utf-8-sig", newline="") as handle:
            for r in csv.DictReader(handle):
                if (keep is None or r["TV_ID"] in keep) and r["Utterance"].strip():
                    turns.append(CorpusTurn(r["Utterance"].strip(), CPED_LABELS[r["Emotion"]], r["Dialogue_ID"]))
    return turns


def xdailydialog(root: Path, part: str, share: float) -> list[CorpusTurn]:
    """XDailyDialog (Mandarin) turns of a dialogue-level split: ``validation`` is the dialogues hashed into
    [0, share), ``test`` those in [0.5, 0.5 + share); the rest is never read here (it is not fitted on)."""
    low = {"validation": 0.0, "test": 0.5}[part]
    return [
        CorpusTurn(r["text"].strip(), DAILYDIALOG_LABELS[r["label"]], f"xdd-{r['dialogue']}")
        for r in _tsv(root / "zh" / "xdailydialog_zh.tsv")
        if low <= _bucket(f"xdd-{r['dialogue']}") < low + share and r["text"].strip()
    ]


def sample_dialogues(turns: list[CorpusTurn], limit: int, seed: str = "callqa") -> list[CorpusTurn]:
    """At most about ``limit`` turns, keeping whole dialogues (so the label proportions stay natural)."""
    if len(turns) <= limit:
        return turns
    order = sorted({t.dialogue for t in turns}, key=lambda d: _bucket(f"{seed}:{d}"))
    sizes: dict[str, int] = {}
    for t in turns:
        sizes[t.dialogue] = sizes.get(t.dialogue, 0) + 1
    kept: set[str] = set()
    total = 0
    for dialogue in order:
        if total >= limit:
            break
        kept.add(dialogue)
        total += sizes[dialogue]
    return [t for t in turns if t.dialogue in kept]
