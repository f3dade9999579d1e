"""The fitted voice-emotion head: feature vector -> per-label probabilities and arousal.

Two linear heads, each a multinomial logistic regression for the labels plus a binary one for
arousal:

- ``speaker`` mode scores an utterance against the speaker's own baseline (z-scores), used when a
  ``SpeakerBaseline`` is given (shrunk toward the language's population when it is small);
- ``clip`` mode scores a clip of an unknown speaker against the population of the call's language.

The language decides which population statistics normalise the vector (and are the prior a small
speaker baseline is shrunk toward) and which heads score it: a language with speakers enough in the
training data has heads of its own (English: adding Mandarin clips then costs English nothing), any
other language uses the shared heads fitted on every corpus.

The head is stored as plain arrays (joblib of a dict), not pickled scikit-learn objects: it stays
small (a few hundred KB), loads without scikit-learn, and does not break when scikit-learn is
upgraded. Fitting (``fit_voice_model``) does need scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.emotion.voice.baseline import PopulationBaseline, SpeakerBaseline, zscore
from engine.emotion.voice.features import VoiceFeatures

LABELS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fear", "surprise")
"""What the head predicts. Corpus labels outside it are mapped by ``LABEL_MAP`` or left out."""

# Calm is neutral said softly: arousal (low) keeps that difference. Disgust has no place in a
# call-centre label set and acted disgust is not close enough to anger to count as it.
LABEL_MAP: dict[str, str | None] = {
    "neutral": "neutral", "calm": "neutral", "happy": "happy", "sad": "sad", "angry": "angry",
    "fear": "fear", "fearful": "fear", "surprise": "surprise", "surprised": "surprise", "disgust": None,
}
HIGH_AROUSAL = frozenset({"angry", "fear", "fearful", "happy", "surprise", "surprised"})
LOW_AROUSAL = frozenset({"neutral", "calm", "sad"})
MODES = ("speaker", "clip")
FORMAT_VERSION = 1
HEADS_DIR = Path(__file__).resolve().parent.parent / "heads"
DEFAULT_HEAD = HEADS_DIR / "voice_head.joblib"
"""The shipped multilingual head, for every language without a head of its own."""


def shipped_head(language: str | None = None) -> Path:
    """The shipped head for ``language`` (``heads/voice_head_<language>.joblib``), else the multilingual one."""
    own = HEADS_DIR / f"voice_head_{language}.joblib"
    return own if language and own.exists() else DEFAULT_HEAD


def arousal_target(label: str) -> int | None:
    """1 for high-arousal emotions, 0 for low, None where the corpus label says neither (disgust)."""
    if label in HIGH_AROUSAL:
        return 1
    if label in LOW_AROUSAL:
        return 0
    return None


@dataclass
class LinearHead:
    """A fitted linear classifier as arrays: ``softmax((z - mean) / scale @ coef.T + intercept)``.

    ``scale`` has the block weights folded in (standard deviation / weight).
    """

    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def decision(self, z: np.ndarray) -> np.ndarray:
        return ((z - self.mean) / self.scale) @ self.coef.T + self.intercept

    def proba(self, z: np.ndarray) -> np.ndarray:
        logits = self.decision(z)
        if logits.shape[1] == 1:  # binary: one logit for the positive class
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict[str, object]:
        return {"classes": list(self.classes), "mean": self.mean.astype(np.float32),
                "scale": self.scale.astype(np.float32), "coef": self.coef.astype(np.float32),
                "intercept": self.intercept.astype(np.float32)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LinearHead:
        return cls(tuple(data["classes"]), *(np.asarray(data[k], np.float64)  # type: ignore[arg-type]
                                             for k in ("mean", "scale", "coef", "intercept")))


@dataclass
class VoicePrediction:
    """The voice's verdict on one utterance."""

    scores: dict[str, float]
    """Probability of each label in ``LABELS``; they sum to 1."""
    arousal: float
    """0 calm … 1 aroused (probability that the utterance is high-arousal)."""
    mode: str
    """``speaker`` (scored against the speaker's baseline) or ``clip`` (against the language population)."""

    @property
    def label(self) -> str:
        return max(self.scores, key=self.scores.__getitem__)


@dataclass
class VoiceEmotionModel:
    """A fitted voice head; ``predict`` turns feature vectors into ``VoicePrediction``s."""

    blocks: tuple[str, ...]
    """Feature blocks the head was fitted on, in vector order (``encoder``, ``prosody``)."""
    block_dims: dict[str, int]
    block_weights: dict[str, float]
    encoder: str
    """The Whisper model whose encoder made the ``encoder`` block (vectors of another model do not fit)."""
    encoder_input: str
    """How the encoder saw each utterance: ``turn`` (alone, unpadded) or ``window`` (30 s windows); see encoder.py."""
    emotion: dict[str, dict[str, LinearHead]]
    """Per language (``*``: the shared head for every other language), per mode: the label head."""
    arousal: dict[str, dict[str, LinearHead]]
    populations: dict[str, PopulationBaseline]
    """Per language, plus ``*`` for all languages together (used for a language the head has not seen)."""
    encoder_layers: tuple[int, ...] = ()
    """Encoder layers whose states made the ``encoder`` block (see layers.py); empty: CTranslate2's last layer."""
    arousal_from_labels: float = 0.0
    """Share of arousal taken from the label head (the summed probability of the high-arousal labels)
    rather than from the binary arousal head; 0 for heads fitted before it existed. The shipped recipes use
    0.7, picked on RAVDESS leave-actors-out arousal (en features, clip by clip: .884 at 0.7, .883 at 0.5, .882
    at 0.85)."""
    shrinkage: float = 10.0
    """Pseudo-utterances of population statistics mixed into a speaker's own (see ``baseline.py``)."""
    min_baseline: int = 3
    """A speaker baseline with fewer utterances than this is not trusted: the clip head is used instead."""
    min_population_speakers: int = 1
    """Speakers a language's own population needs to z-score clips of that language (clip mode); below,
    the all-languages population does. Measured on CASIA: one Mandarin speaker's statistics shrink another's
    small baseline better (four-class .708 against .686 at 10 utterances), but z-score a clip worse
    (.642 against .657 with no baseline)."""
    spread_floor: np.ndarray | None = None
    """Per column, the smallest standard deviation a speaker baseline is taken to have: the within-speaker
    spread of calm conversational speech (``floor.py``; how it was measured: ``card["spread_floor"]``), so
    that ordinary variation of a calm speaker is not blown up into emotion. None: no floor."""
    floor_scale: float = 1.0
    """Multiplier of ``spread_floor`` (``VoiceConfig.spread_floor``); 0 turns the floor off."""
    neutral_prior: float = 0.0
    """Largest pull (0-1) of a turn's label scores toward neutral, for a turn the head reads exactly as the
    speaker's usual voice; it fades as the reading departs from it (``prior_distance``). Speaker mode only."""
    prior_distance: float = 0.25
    """Distance of a turn's scores from those of the speaker's usual voice (total variation, 0-1) at which
    the pull toward neutral has fallen to exp(-1/2) of its largest."""
    clip_trim: dict[str, float] | None = None
    """How the training clips were cut to their speech (``features.SpeechTrim`` settings), so that a whole-file
    clip scored with this head (``callqa emotion``) is cut the same way; None: clips were used whole."""
    card: dict[str, object] = field(default_factory=dict)

    # ---- vectors -------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return sum(self.block_dims[b] for b in self.blocks)

    def vectorise(self, features: Sequence[VoiceFeatures] | np.ndarray) -> np.ndarray:
        """Raw feature rows (blocks concatenated in the head's order) from ``VoiceFeatures``."""
        if isinstance(features, np.ndarray):
            matrix = np.atleast_2d(features)
        else:
            matrix = np.stack([np.concatenate([f.block(b) for b in self.blocks]) for f in features])
        if matrix.shape[1] != self.dim:
            raise ValueError(f"feature vectors have {matrix.shape[1]} values; this head expects {self.dim} "
                             f"({', '.join(f'{b}: {self.block_dims[b]}' for b in self.blocks)})")
        return matrix.astype(np.float64)

    def population(self, language: str | None) -> PopulationBaseline:
        """The statistics a clip of an unknown speaker of ``language`` is z-scored against (clip mode)."""
        own = self.populations.get(language or "*")
        return own if own is not None and own.speakers >= self.min_population_speakers else self.populations["*"]

    def prior(self, language: str | None) -> PopulationBaseline:
        """The statistics a small speaker baseline of ``language`` is shrunk toward: the language's own."""
        return self.populations.get(language or "*", self.populations["*"])

    def column_weights(self) -> np.ndarray:
        """Per-column weight of each block (a block weighted 2 is regularised as if it were worth twice as much)."""
        return np.concatenate([np.full(self.block_dims[b], self.block_weights.get(b, 1.0)) for b in self.blocks])

    def normalise(
        self, vectors: np.ndarray, language: str | None, baseline: SpeakerBaseline | None = None,
        fallback: bool = True,
    ) -> tuple[np.ndarray, str]:
        """Z-scores of raw rows and the mode they are meant for (see the module docstring)."""
        population = self.population(language)
        if baseline is not None and baseline.count >= self.min_baseline:
            if fallback:
                mean, std = baseline.shrunk_toward(self.prior(language), self.shrinkage)
            else:
                mean, std = baseline.mean, baseline.std
            if self.spread_floor is not None and self.floor_scale > 0:
                std = np.fmax(std, self.floor_scale * self.spread_floor)
            return zscore(vectors, mean, std), "speaker"
        return zscore(vectors, population.mean, population.std), "clip"

    # ---- scoring -------------------------------------------------------------------------------
    def predict_arrays(
        self, vectors: np.ndarray, language: str | None, baseline: SpeakerBaseline | None = None,
        fallback: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """Label probabilities (rows × ``LABELS``), arousal per row, and the mode used."""
        z, mode = self.normalise(self.vectorise(vectors), language, baseline, fallback)
        key = language if language in self.emotion else "*"
        emotion_head, arousal_head = self.emotion[key][mode], self.arousal[key][mode]
        probs = self._fold(emotion_head.proba(z), emotion_head.classes)
        if mode == "speaker" and self.neutral_prior > 0:
            usual = self._fold(emotion_head.proba(np.zeros((1, z.shape[1]))), emotion_head.classes)
            probs = self.toward_neutral(probs, usual)
        arousal = arousal_head.proba(z)[:, 1]
        if self.arousal_from_labels:
            high = probs[:, [LABELS.index(label) for label in LABELS if label in HIGH_AROUSAL]].sum(axis=1)
            arousal = (1.0 - self.arousal_from_labels) * arousal + self.arousal_from_labels * high
        return probs, arousal, mode

    def toward_neutral(self, probs: np.ndarray, usual: np.ndarray) -> np.ndarray:
        """Label scores pulled toward neutral by ``neutral_prior * exp(-d² / 2 prior_distance²)``, d the total
        variation distance between a turn's scores and ``usual``, the head's scores for the speaker's usual
        voice (the baseline mean itself).

        A turn the head reads much as it reads the speaker's usual voice is weak evidence of any emotion, and
        the normal state of a service call is neutral; a turn it reads differently keeps its scores (and its
        arousal, which follows the labels through ``arousal_from_labels``). Measured in the head's output
        rather than in the raw vector: every acted clip, neutral or furious, lies about one spread from its
        actor's mean (RMS z-score 0.9-1.0, as calm call turns do), so raw distance would pull all alike."""
        distance = 0.5 * np.abs(probs - usual).sum(axis=1)
        pull = self.neutral_prior * np.exp(-0.5 * (distance / max(self.prior_distance, 1e-6)) ** 2)
        neutral = np.zeros(len(LABELS))
        neutral[LABELS.index("neutral")] = 1.0
        return (1.0 - pull)[:, None] * probs + pull[:, None] * neutral

    def configured(self, settings: object | None) -> VoiceEmotionModel:
        """This head with a ``VoiceConfig``'s overrides of its floor and prior (None fields keep the head's own)."""
        import dataclasses

        if settings is None:
            return self
        changes = {name: float(value) for name, field_name in (("floor_scale", "spread_floor"),
                                                                 ("neutral_prior", "neutral_prior"),
                                                                 ("prior_distance", "prior_distance"))
                   if (value := getattr(settings, field_name, None)) is not None}
        return dataclasses.replace(self, **changes)

    @staticmethod
    def _fold(probs: np.ndarray, classes: Sequence[str]) -> np.ndarray:
        """Columns in ``LABELS`` order; a finer class the head was fitted with (calm) adds to its label."""
        out = np.zeros((probs.shape[0], len(LABELS)))
        for j, name in enumerate(classes):
            target = LABEL_MAP.get(name, name)
            if target in LABELS:
                out[:, LABELS.index(target)] += probs[:, j]
        return out / np.maximum(out.sum(axis=1, keepdims=True), 1e-12)

    def predict(
        self, features: Sequence[VoiceFeatures] | np.ndarray, language: str | None = None,
        baseline: SpeakerBaseline | None = None,
    ) -> list[VoicePrediction]:
        """Score utterances of one speaker.

        ``language`` is the call's language (``en``, ``zh``); ``baseline`` the speaker's own
        statistics when known (an agent's earlier calls, or this speaker's turns in this call).
        Without a baseline each utterance is scored on its own against the language's population.
        """
        probs, arousal, mode = self.predict_arrays(features, language, baseline)
        return [
            VoicePrediction(scores={label: float(p) for label, p in zip(LABELS, row, strict=True)},
                            arousal=float(a), mode=mode)
            for row, a in zip(probs, arousal, strict=True)
        ]

    def baseline_for(self, features: Sequence[VoiceFeatures] | np.ndarray, speaker: str = "") -> SpeakerBaseline:
        """A speaker baseline from that speaker's utterances, in this head's vector layout."""
        return SpeakerBaseline.from_vectors(self.vectorise(features), speaker=speaker)

    # ---- storage -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        return {
            "format_version": FORMAT_VERSION, "blocks": list(self.blocks), "block_dims": self.block_dims,
            "block_weights": self.block_weights, "encoder": self.encoder,
            "encoder_input": self.encoder_input, "encoder_layers": list(self.encoder_layers),
            "arousal_from_labels": self.arousal_from_labels,
            "emotion": {k: {m: h.to_dict() for m, h in d.items()} for k, d in self.emotion.items()},
            "arousal": {k: {m: h.to_dict() for m, h in d.items()} for k, d in self.arousal.items()},
            "populations": {k: p.to_dict() for k, p in self.populations.items()},
            "shrinkage": self.shrinkage, "min_baseline": self.min_baseline,
            "min_population_speakers": self.min_population_speakers,
            "spread_floor": None if self.spread_floor is None else self.spread_floor.astype(np.float32),
            "neutral_prior": self.neutral_prior, "prior_distance": self.prior_distance,
            "clip_trim": self.clip_trim, "card": self.card,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> VoiceEmotionModel:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"voice head format {data.get('format_version')}; this release reads {FORMAT_VERSION}")
        return cls(
            blocks=tuple(data["blocks"]), block_dims=dict(data["block_dims"]),  # type: ignore[arg-type]
            block_weights=dict(data["block_weights"]), encoder=str(data["encoder"]),  # type: ignore[arg-type]
            encoder_input=str(data["encoder_input"]),
            encoder_layers=tuple(int(k) for k in data.get("encoder_layers", ())),  # type: ignore[attr-defined]
            arousal_from_labels=float(data.get("arousal_from_labels", 0.0)),  # type: ignore[arg-type]
            emotion={k: {m: LinearHead.from_dict(h) for m, h in d.items()}
                     for k, d in data["emotion"].items()},  # type: ignore[attr-defined]
            arousal={k: {m: LinearHead.from_dict(h) for m, h in d.items()}
                     for k, d in data["arousal"].items()},  # type: ignore[attr-defined]
            populations={k: PopulationBaseline.from_dict(p) for k, p in data["populations"].items()},  # type: ignore[attr-defined]
            shrinkage=float(data["shrinkage"]), min_baseline=int(data["min_baseline"]),  # type: ignore[arg-type]
            min_population_speakers=int(data.get("min_population_speakers", 1)),  # type: ignore[call-overload]
            # Heads fitted before the floor and the prior existed have neither.
            spread_floor=None if data.get("spread_floor") is None
            else np.asarray(data["spread_floor"], np.float64),
            neutral_prior=float(data.get("neutral_prior", 0.0)),  # type: ignore[arg-type]
            prior_distance=float(data.get("prior_distance", 0.25)),  # type: ignore[arg-type]
            clip_trim=data.get("clip_trim"),  # type: ignore[arg-type]
            card=dict(data.get("card", {})),  # type: ignore[arg-type]
        )

    def save(self, path: Path | str) -> None:
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.to_dict(), path, compress=3)

    @classmethod
    def load(cls, path: Path | str | None = None, settings: object | None = None) -> VoiceEmotionModel:
        """Load a fitted head; without a path, the one shipped with the engine. ``settings``: a ``VoiceConfig``
        whose ``spread_floor``, ``neutral_prior`` and ``prior_distance`` override the head's (``configured``)."""
        import joblib

        path = Path(path) if path else DEFAULT_HEAD
        if not path.exists():
            raise FileNotFoundError(f"no voice-emotion head at {path}; fit one with scripts/fit_voice_emotion.py")
        return cls.from_dict(joblib.load(path)).configured(settings)
