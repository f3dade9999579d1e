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
    probs: list[np.ndarray] = field(default_factory=list)
    arousal: list[np.ndarray] = field(default_factory=list)

    def add(self, clips: ClipSet, rows: np.ndarray, probs: np.ndarray, arousal: np.ndarray) -> None:
        self.labels += [str(x) for x in clips.labels[rows]]
        self.corpora += [str(x) for x in clips.corpora[rows]]
        self.languages += [str(x) for x in clips.languages[rows]]
        self.probs.append(probs)
        self.arousal.append(arousal)

    def extend(self, other: Scored) -> None:
        self.labels += other.labels
        self.corpora += other.corpora
        self.languages += other.languages
        self.probs += other.probs
        self.arousal += other.arousal

    def metrics(self, where: Callable[[str, str], bool] | None = None) -> dict[str, float]:
        """The four figures, optionally over the clips whose (corpus, language) ``where`` accepts."""
        from sklearn.metrics import balanced_accuracy_score, f1_score

        labels = np.array(self.labels)
        probs = np.vstack(self.probs)
        arousal = np.concatenate(self.arousal)
        keep = np.array([where(c, lang) if where else True for c, lang in zip(self.corpora, self.languages,
                                                                             strict=True)], dtype=bool)
        labels, probs, arousal = labels[keep], probs[keep], arousal[keep]
        if len(labels) == 0:
            return {}
        targets = np.array([arousal_target(x) for x in labels], dtype=object)
        has = targets != None  # noqa: E711 - elementwise on an object array
        out: dict[str, float] = {"n": float(len(labels))}
        out["arousal_bacc"] = float(balanced_accuracy_score(targets[has].astype(int), arousal[has] >= 0.5))
        four = np.isin(labels, FOUR)
        columns = [LABELS.index(x) for x in FOUR]
        guess = np.array(FOUR)[probs[four][:, columns].argmax(axis=1)]
        out["four_class"] = float((guess == labels[four]).mean())
        out["anger_f1"] = float(f1_score(labels[four] == "angry", guess == "angry"))
        guess_all = np.array(LABELS)[probs.argmax(axis=1)]
        out["anger_f1_all"] = float(f1_score(labels == "angry", guess_all == "angry"))
        return out


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
    return [list(chunk) for chunk in np.array_split(np.array(names), n_folds)]
