"""Leave-speakers-out evaluation of the voice head: the figures the fitting script and the bench print.

Rules that keep the figures honest: a speaker is either fitted on or scored, never both (folds are
made of whole speakers, and C is chosen inside the training speakers); a speaker baseline of n
utterances is drawn from the scored speaker's *other* clips, never from the clip being scored,
except in the ``all`` setting, which is the usual per-speaker normalisation over the whole session.

Metrics (labels in the engine's vocabulary):
- ``arousal_bacc``: balanced accuracy of arousal >= 0.5 on clips whose label has an arousal
  (high: angry, fear, happy, surprise; low: neutral, calm, sad; disgust has none);
- ``four_class``: accuracy on neutral, happy, sad and angry clips, predicting the likeliest of those four;
- ``anger_f1``: F1 of "angry" on those same clips and predictions;
- ``anger_f1_all``: F1 of "angry" over every clip, predicting the likeliest of all labels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.emotion.voice.baseline import SpeakerBaseline
from engine.emotion.voice.head import LABELS, VoiceEmotionModel, arousal_target
from engine.emotion.voice.training import ClipSet

FOUR = ("neutral", "happy", "sad", "angry")
BaselineSize = int | str | None
"""``"all"`` (the speaker's whole session), an utterance count, or None (clip by clip)."""


@dataclass
class Scored:
    """Predictions pooled over scored clips (a clip may be scored once per baseline draw)."""

    labels: list[str] = field(default_factory=list)
    corpora: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)
    arousal: list[np.ndarray] = field(default_factory=list)

    def add(self, clips: ClipSet, rows: np.ndarray, probs: np.ndarray, arousal: np.ndarray) -> None:
        self.labels += [str(x) for x in clips.labels[rows]]
        self.corpora += [str(x) for x in clips.corpora[rows]]
        self.languages += [str(x) for x in clips.languages[rows]]
        self.speakers += [str(x) for x in clips.speakers[rows]]
        self.probs.append(probs)
        self.arousal.append(arousal)

    def extend(self, other: Scored) -> None:
        self.labels += other.labels
        self.corpora += other.corpora
        self.languages += other.languages
        self.speakers += other.speakers
        self.probs += other.probs
        self.arousal += other.arousal

    def _keep(self, where: Callable[[str, str], bool] | None) -> np.ndarray:
        return np.array([where(c, lang) if where else True
                         for c, lang in zip(self.corpora, self.languages, strict=True)], dtype=bool)

    def metrics(self, where: Callable[[str, str], bool] | None = None) -> dict[str, float]:
        """The four figures, optionally over the clips whose (corpus, language) ``where`` accepts."""
        keep = self._keep(where)
        return clip_metrics(np.array(self.labels)[keep], np.vstack(self.probs)[keep],
                            np.concatenate(self.arousal)[keep])

    def per_speaker(self, where: Callable[[str, str], bool] | None = None) -> dict[str, dict[str, float]]:
        """The figures of each scored speaker on their own (the spread between them is the noise)."""
        keep = self._keep(where)
        speakers, labels = np.array(self.speakers)[keep], np.array(self.labels)[keep]
        probs, arousal = np.vstack(self.probs)[keep], np.concatenate(self.arousal)[keep]
        return {str(s): clip_metrics(labels[speakers == s], probs[speakers == s], arousal[speakers == s])
                for s in np.unique(speakers)}


def clip_metrics(labels: np.ndarray, probs: np.ndarray, arousal: np.ndarray) -> dict[str, float]:
    """The module's four figures over clips (labels, ``LABELS``-ordered probabilities, arousal); empty if none.

    Plain numpy (the nested selection computes them tens of thousands of times): balanced accuracy is the
    mean of the two classes' recalls, F1 is 0 where there is nothing to score.
    """
    if len(labels) == 0:
        return {}
    labels = np.asarray(labels).astype(str)
    targets = np.array([arousal_target(x) for x in labels], dtype=object)
    has = targets != None  # noqa: E711 - elementwise on an object array
    truth, high = targets[has].astype(int), np.asarray(arousal)[has] >= 0.5
    recalls = [float((high[truth == k] == bool(k)).mean()) for k in (0, 1) if (truth == k).any()]
    out: dict[str, float] = {"n": float(len(labels)), "arousal_bacc": float(np.mean(recalls)) if recalls else 0.0}
    four = np.isin(labels, FOUR)
    columns = [LABELS.index(x) for x in FOUR]
    guess = np.array(FOUR)[probs[four][:, columns].argmax(axis=1)]
    out["four_class"] = float((guess == labels[four]).mean()) if four.any() else 0.0
    out["anger_f1"] = _f1(labels[four] == "angry", guess == "angry")
    out["anger_f1_all"] = _f1(labels == "angry", np.array(LABELS)[probs.argmax(axis=1)] == "angry")
    return out


def _f1(truth: np.ndarray, guess: np.ndarray) -> float:
    both = float((truth & guess).sum())
    return 2 * both / float(truth.sum() + guess.sum()) if truth.any() or guess.any() else 0.0


def mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and its standard error (sample std / sqrt(n); 0 for a single value)."""
    array = np.asarray(values, dtype=np.float64)
    if len(array) < 2:
        return float(array.mean()) if len(array) else float("nan"), 0.0
    return float(array.mean()), float(array.std(ddof=1) / np.sqrt(len(array)))


def score_speakers(
    model: VoiceEmotionModel, clips: ClipSet, baseline_size: BaselineSize, fallback: bool = True,
    draws: int = 5, seed: int = 0,
) -> Scored:
    """Score every clip of ``clips`` (none of whose speakers the model was fitted on)."""
    rng = np.random.default_rng(seed)
    scored = Scored()
    for speaker in np.unique(clips.speakers):
        rows = np.flatnonzero(clips.speakers == speaker)
        language = str(clips.languages[rows[0]])
        if baseline_size is None:
            probs, arousal, _ = model.predict_arrays(clips.X[rows], language, None)
            scored.add(clips, rows, probs, arousal)
        elif baseline_size == "all":
            baseline = SpeakerBaseline.from_vectors(clips.X[rows])
            probs, arousal, _ = model.predict_arrays(clips.X[rows], language, baseline, fallback)
            scored.add(clips, rows, probs, arousal)
        else:
            size = int(baseline_size)
            for _ in range(draws):
                picked = rng.permutation(len(rows))
                base_rows, test_rows = rows[picked[:size]], rows[picked[size:]]
                baseline = SpeakerBaseline.from_vectors(clips.X[base_rows])
                probs, arousal, _ = model.predict_arrays(clips.X[test_rows], language, baseline, fallback)
                scored.add(clips, test_rows, probs, arousal)
    return scored


def speaker_folds(speakers: Sequence[str], n_folds: int) -> list[list[str]]:
    """Whole speakers into ``n_folds`` folds, in sorted order (actors 01-03, 04-06, … for RAVDESS)."""
    names = sorted(set(speakers))
    return [list(chunk) for chunk in np.array_split(np.array(names), min(n_folds, len(names)))]


def corpus_folds(clips: ClipSet, n_folds: int = 4) -> list[tuple[str, list[str]]]:
    """Outer folds: each corpus's speakers in up to ``n_folds`` folds of neighbours (``speaker_folds``).

    Each fold is held out alone; its head is fitted on every other speaker of every corpus. RAVDESS
    actors 01-12 make four folds of three, CASIA's two speakers two folds of one.
    """
    return [(str(corpus), fold) for corpus in sorted(set(clips.corpora))
            for fold in speaker_folds(clips.speakers[clips.corpora == corpus], n_folds)]


def round_robin_folds(speakers: np.ndarray, corpora: np.ndarray, n_folds: int) -> list[np.ndarray]:
    """Masks of held-out rows: each corpus's speakers dealt in turn into ``n_folds`` folds (empty folds dropped)."""
    assignment: dict[str, int] = {}
    for corpus in sorted(set(corpora)):
        for i, speaker in enumerate(sorted(set(speakers[corpora == corpus]))):
            assignment[str(speaker)] = i % n_folds
    folds = np.array([assignment[str(s)] for s in speakers])
    return [folds == k for k in range(n_folds) if (folds == k).any()]
