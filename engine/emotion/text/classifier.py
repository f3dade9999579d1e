"""Text emotion per turn: a head over sentence embeddings (plus a lexicon's valence), per language.

Why this shape: a handful of hand-written example sentences per label, fitted balanced, put ordinary talk
anywhere ("Okay." angry, "And then click on start now." frustrated: 40 % of the turns of calm real calls
were negative). English and Mandarin now use a head fitted offline on thousands of labelled dialogue
turns at their natural proportions (most turns calm) plus the example files of ``configs/emotion/``,
which teach the service domain (courtesy, calm problem statements, short turns; docs/text_emotion.md).
The head ships as a small file (``engine/emotion/text/heads``); loading it costs nothing.

A centre's own example files still count: when the configured files are not those the head was fitted
with, the head is refitted at load on the configured example sentences, pulled toward its shipped
weights (the corpus embeddings are not shipped, so that pull stands in for them). A language without a
head is fitted at load on its example sentences alone, as before. Example embeddings are cached on disk
(keyed by the example files and the model) because embedding them is the only slow part of loading.

The lexicon's valence is one more feature beside the embedding; the fit learns per label how far to
trust it. Lexicons are poor on neutral requests with negative words ("I want to cancel the order") and
SnowNLP leans negative on almost any complaint-shaped Mandarin, so a fixed late-fusion rule hurt
(measured: zh accuracy fell from 0.73 to 0.44 with a fixed tilt).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from engine.config import ConfigError
from engine.emotion.config import EmbeddingBackend, TextEmotionConfig
from engine.emotion.text.courtesy import CourtesyRule
from engine.emotion.text.embeddings import SentenceEncoder, load_encoder
from engine.emotion.text.examples import ExampleSet, load_examples, resolve_example_path
from engine.emotion.text.head import LinearHead, head_features, load_head
from engine.emotion.text.lexicon import lexicon_valence
from engine.models.registry import cache_dir

NEUTRAL = "neutral"


@dataclass(frozen=True)
class TextEmotion:
    """What the words of one turn say about the speaker's emotion."""

    label: str
    scores: dict[str, float]
    """Probability per label (sums to 1)."""
    valence: float
    """In [-1, 1]: expected label valence blended with the lexicon."""
    lexicon_valence: float
    """In [-1, 1]: the lexicon's opinion alone (0 where the language has no lexicon)."""
    explicit: bool = False
    """The words say outright that the speaker is upset (a hostile or complaint pattern of the courtesy files, no
    courtesy): a short turn's words then count in full."""

    @property
    def confidence(self) -> float:
        return self.scores[self.label]


def _normalise_language(language: str) -> str:
    return language.lower().replace("_", "-").split("-")[0]


def _cached_embeddings(encoder: SentenceEncoder, examples: ExampleSet, use_cache: bool) -> np.ndarray:
    """Embeddings of the example sentences, from disk when the same files were embedded by the same model."""
    key = hashlib.sha256(f"{examples.content_hash}\n{encoder.identity}".encode()).hexdigest()[:24]
    path = cache_dir() / "text_emotion" / f"examples-{examples.language}-{key}.npy"
    if use_cache and path.exists():
        try:
            cached = np.load(path)
            if cached.shape[0] == len(examples.texts):
                return cached
        except (OSError, ValueError):  # a damaged cache file is rebuilt, never trusted
            pass
    vectors = encoder.embed(examples.texts)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so that concurrent workers never read a half-written file.
        fd, staging = tempfile.mkstemp(prefix=".examples-", suffix=".npy", dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            np.save(out, vectors)
        Path(staging).replace(path)
    return vectors


def same_model(identity: str, other: str) -> bool:
    """Whether two encoder identities name the same model; the half-precision suffix is ignored, since
    bfloat16 / float16 MiniLM embeddings lie at cosine > 0.999 to float32 ones (tested)."""
    def strip(name: str) -> str:
        return name.removesuffix(":bfloat16").removesuffix(":float16")
    return strip(identity) == strip(other)


@dataclass
class _LanguageModel:
    encoder: SentenceEncoder
    head: LinearHead
    lexicon_weight: float
    valence: np.ndarray = field(repr=False)
    origin: str
    """'shipped', 'adapted' (shipped head refitted on changed example files) or 'examples' (no head file)."""

    @property
    def labels(self) -> list[str]:
        return self.head.labels


class TextEmotionClassifier:
    """Labels each turn's text angry / frustrated / anxious / sad / neutral / satisfied, with a valence.

    ``TextEmotionClassifier.load(config).predict(["you charged me twice!"], "en")``. Each language is
    prepared on first use (its encoder loaded, its head read, or refitted when its example files changed).
    """

    def __init__(
        self, config: TextEmotionConfig, device: str = "auto", encoders: dict[str, SentenceEncoder] | None = None
    ) -> None:
        self.config = config
        self.device = device
        self.labels = list(config.label_valence)
        # Back-end name -> encoder; given ones (tests, a worker that already holds a model) are used as they are.
        self._encoders: dict[str, SentenceEncoder] = dict(encoders or {})
        self._models: dict[str, _LanguageModel] = {}
        self._courtesy: dict[str, CourtesyRule | None] = {}

    @classmethod
    def load(
        cls, config: TextEmotionConfig | None = None, device: str = "auto",
        encoders: dict[str, SentenceEncoder] | None = None,
    ) -> TextEmotionClassifier:
        """A classifier for ``config``; the example files are read and checked now, so errors show at load."""
        classifier = cls(config or TextEmotionConfig(), device=device, encoders=encoders)
        for language in classifier.config.example_files:
            classifier._examples(language)
        for language in classifier.config.courtesy_files:
            classifier._courtesy_rule(language)
        return classifier

    def _courtesy_rule(self, language: str) -> CourtesyRule | None:
        key = _normalise_language(language)
        if key not in self._courtesy:
            files = self.config.courtesy_files.get(key)
            self._courtesy[key] = CourtesyRule.load(
                files, key, self.config.courtesy_negative_cap, self.config.hostile_floor,
                self.config.complaint_floor, self.config.complaint_label) if files else None
        return self._courtesy[key]

    def _language_key(self, language: str) -> str:
        language = _normalise_language(language)
        return language if language in self.config.example_files else self.config.fallback_language

    def _examples(self, language: str) -> ExampleSet:
        return load_examples(self.config.example_files[language], language, self.labels)

    def _encoder(self, backend: EmbeddingBackend) -> SentenceEncoder:
        if backend not in self._encoders:
            self._encoders[backend] = load_encoder(backend, device=self.device, batch_size=self.config.batch_size,
                                                   precision=self.config.precision)
        return self._encoders[backend]

    def prepare(self, language: str) -> None:
        """Load the encoder and fit the head of ``language`` now rather than on the first turn."""
        self._model(language)

    def _model(self, language: str) -> _LanguageModel:
        key = self._language_key(language)
        if key not in self._models:
            examples = self._examples(key)
            encoder = self._encoder(self.config.backend.get(key, "e5"))
            head_file = self.config.head_files.get(key)
            if head_file:
                self._models[key] = self._shipped_model(key, head_file, encoder, examples)
            else:
                self._models[key] = self._examples_model(key, encoder, examples)
        return self._models[key]

    def _example_features(self, key: str, encoder: SentenceEncoder, examples: ExampleSet,
                          lexicon_weight: float) -> np.ndarray:
        vectors = _cached_embeddings(encoder, examples, self.config.cache_embeddings)
        lexicon = np.asarray(lexicon_valence(examples.texts, _normalise_language(key)))
        return head_features(vectors, lexicon, lexicon_weight)

    def _valence(self, labels: list[str]) -> np.ndarray:
        return np.array([self.config.label_valence[label] for label in labels])

    def _examples_model(self, key: str, encoder: SentenceEncoder, examples: ExampleSet) -> _LanguageModel:
        """No head file: a logistic regression fitted now on the example sentences alone."""
        weight = self.config.lexicon_weight
        fitted = LogisticRegression(C=self.config.regularisation, max_iter=5000)
        fitted.fit(self._example_features(key, encoder, examples, weight), examples.labels)
        head = LinearHead([str(c) for c in fitted.classes_], fitted.coef_, fitted.intercept_)
        return _LanguageModel(encoder, head, weight, self._valence(head.labels), "examples")

    def _shipped_model(self, key: str, head_file: str, encoder: SentenceEncoder,
                       examples: ExampleSet) -> _LanguageModel:
        """The shipped head; refitted on the examples (pulled toward itself) when they are not its own."""
        path = resolve_example_path(head_file)
        where = f"text_emotion.head_files.{key}: {path}"
        try:
            head, meta = load_head(path)
        except FileNotFoundError:
            raise ConfigError(f"{where}: head file not found; refit it with scripts/fit_text_emotion.py "
                              f"or remove {key!r} from head_files to fit on the example files alone") from None
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"{where}: not a text-emotion head ({exc}); refit it with "
                              "scripts/fit_text_emotion.py") from None
        if not same_model(str(meta["encoder"]), encoder.identity):
            raise ConfigError(
                f"{where}: fitted on embeddings of {meta['encoder']!r} but the configured back-end gives "
                f"{encoder.identity!r}; refit the head for this back-end or remove {key!r} from head_files"
            )
        unknown = sorted(set(head.labels) - set(self.config.label_valence))
        if unknown:
            raise ConfigError(f"{where}: labels {unknown} have no valence in text_emotion.label_valence")
        weight = float(meta["lexicon_weight"])  # the features must be built as they were for the fit
        if examples.content_hash == meta.get("examples_hash"):
            return _LanguageModel(encoder, head, weight, self._valence(head.labels), "shipped")
        features = self._example_features(key, encoder, examples, weight)
        setting = meta.get("setting") or {}
        weights = np.full(len(examples.labels), float(setting.get("example_weight", 1.0)))
        adapted = head.adapt(features, examples.labels, weights, self.config.adapt_strength)
        return _LanguageModel(encoder, adapted, weight, self._valence(adapted.labels), "adapted")

    def origin(self, language: str) -> str:
        """Where the head of ``language`` came from: 'shipped', 'adapted' or 'examples'."""
        return self._model(language).origin

    def predict(self, texts: list[str], language: str) -> list[TextEmotion]:
        """One ``TextEmotion`` per text, in order; blank texts are neutral without running any model."""
        if not texts:
            return []
        model = self._model(language)
        lexicon_language = _normalise_language(language)
        spoken = [i for i, text in enumerate(texts) if text.strip()]
        probs = np.zeros((len(texts), len(model.labels)))
        probs[:, model.labels.index(NEUTRAL) if NEUTRAL in model.labels else 0] = 1.0
        lexicon = np.zeros(len(texts))
        explicit = [False] * len(texts)
        if spoken:
            spoken_texts = [texts[i] for i in spoken]
            lexicon[spoken] = lexicon_valence(spoken_texts, lexicon_language)
            features = head_features(model.encoder.embed(spoken_texts), lexicon[spoken], model.lexicon_weight)
            probs[spoken] = model.head.predict_proba(features)
            rule = self._courtesy_rule(language)
            if rule is not None:
                for i in spoken:
                    adjusted = rule.apply(texts[i], dict(zip(model.labels, probs[i], strict=True)))
                    if rule.applies(texts[i]):
                        lexicon[i] = max(lexicon[i], 0.0)  # "sorry" is negative to a lexicon, not to a caller
                    elif rule.explicit(texts[i]):
                        explicit[i] = True
                    probs[i] = [adjusted[label] for label in model.labels]
        blend = self.config.valence_lexicon_blend
        valence = np.clip((1 - blend) * (probs @ model.valence) + blend * lexicon, -1.0, 1.0)
        return [
            TextEmotion(
                label=model.labels[int(row.argmax())],
                scores={label: float(p) for label, p in zip(model.labels, row, strict=True)},
                valence=float(v),
                lexicon_valence=float(lex),
                explicit=hostile,
            )
            for row, v, lex, hostile in zip(probs, valence, lexicon, explicit, strict=True)
        ]
