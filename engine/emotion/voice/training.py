"""Fitting a ``VoiceEmotionModel`` from labelled clips (needs scikit-learn; scoring does not).

Both heads see vectors normalised exactly as ``VoiceEmotionModel.normalise`` will normalise them
when scoring: the ``speaker`` head each training speaker's vectors against that speaker's own
baseline, the ``clip`` head every vector against its language's population. Classes are weighted
to balance (RAVDESS has half as many neutral clips as other emotions; calls have far more).

The regularisation C is chosen by an inner leave-speakers-out split of the *training* speakers
only, so no figure reported on held-out speakers has seen them, not even through C; the recipes' other
settings are chosen the same way, one level up (``selection.py``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.emotion.voice.baseline import PopulationBaseline, SpeakerBaseline
from engine.emotion.voice.encoder import EncoderConfig
from engine.emotion.voice.features import FeatureCache, ProgressHook, SpeechTrim, encoder_vectors, prosody_vectors
from engine.emotion.voice.head import LABEL_MAP, LABELS, LinearHead, VoiceEmotionModel, arousal_target
from engine.emotion.voice.prosody import ProsodyConfig


@dataclass
class ClipSet:
    """Labelled clips as raw feature rows (blocks concatenated) with who, what, which language and corpus."""

    X: np.ndarray
    speakers: np.ndarray
    labels: np.ndarray
    languages: np.ndarray
    corpora: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, mask: np.ndarray) -> ClipSet:
        return ClipSet(self.X[mask], self.speakers[mask], self.labels[mask], self.languages[mask], self.corpora[mask])

    def __add__(self, other: ClipSet) -> ClipSet:
        return ClipSet(*(np.concatenate([a, b]) for a, b in
                         zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[np.ndarray, ...]:
        return self.X, self.speakers, self.labels, self.languages, self.corpora


@dataclass
class FitOptions:
    """How a head is fitted; the defaults are what the shipped head used (see its card)."""

    blocks: tuple[str, ...] = ("encoder", "prosody")
    block_dims: dict[str, int] = field(default_factory=dict)
    block_weights: dict[str, float] = field(default_factory=lambda: {"encoder": 1.0, "prosody": 1.0})
    encoder: str = "tiny.en"
    encoder_input: str = "turn"
    encoder_layers: tuple[int, ...] = ()
    """Encoder layers pooled (``EncoderConfig.layers``); empty: CTranslate2's last layer."""
    arousal_from_labels: float = 0.7
    """Share of the reported arousal taken from the label head (see ``VoiceEmotionModel``)."""
    c_grid: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)
    """Candidate C values; one value skips the inner search."""
    inner_folds: int = 3
    shrinkage: float = 10.0
    min_baseline: int = 3
    max_iter: int = 3000
    speaker_balance: bool = False
    """Weight clips so that every training speaker counts the same. Measured: off is better for an unseen
    CASIA voice clip by clip (51 % against 47 % four-class; its 300 clips a speaker then weigh more)."""
    language_weights: dict[str, float] = field(default_factory=dict)
    """Extra weight of a language's clips in the shared head (e.g. ``{"zh": 2.0}``)."""
    language_heads: tuple[str, ...] = ("en",)
    """Languages that get heads of their own, fitted on their speakers only; others use the shared head."""
    min_population_speakers: int = 1
    """A language's own population z-scores clips (clip mode) from this many speakers; below, all languages'
    does. A small speaker baseline is shrunk toward the language's own population from one speaker on."""
    speech_trim: SpeechTrim | None = None
    """Training clips are cut to their speech first (``SpeechTrim``), as the engine's turns are; None: whole clips."""
    own_classes: tuple[str, ...] = ()
    """Corpus labels fitted as classes of their own and folded into their ``LABEL_MAP`` label when
    scoring (e.g. ``calm``: its own class, reported as neutral)."""


RECIPES: dict[str, dict[str, object]] = {
    # English calls: tiny.en (the English ASR model). The layers, prosody weight, C, calm as a class of its
    # own and the arousal mix are chosen by nested leave-speaker-out validation (selection.SEARCH_SPACES);
    # the values here are what that choice made on all 14 speakers, i.e. what the shipped head uses
    # (docs/voice_emotion.md has each outer fold's choice).
    # Its training clips are cut to their speech (SpeechTrim), as a call's turns are.
    "en": {"encoder": "tiny.en", "encoder_layers": (2, 3), "c_grid": (0.003,), "arousal_from_labels": 1.0,
           "speech_trim": SpeechTrim()},
    # Every other language, Mandarin first: base (the multilingual ASR model); chosen the same way. Fixed, not
    # searched: Mandarin clips count twice (one or two Mandarin speakers among nine to twelve English ones)
    # and a clip with no baseline is z-scored against all languages' population unless its own has two speakers.
    "multilingual": {"encoder": "base", "encoder_layers": (3,), "language_weights": {"zh": 2.0},
                     "min_population_speakers": 2, "c_grid": (0.01,), "arousal_from_labels": 0.7},
}
"""The shipped heads' settings (``scripts/fit_voice_emotion.py --recipe``); measured in docs/voice_emotion.md."""


def parse_language_weights(items: Sequence[str]) -> dict[str, float]:
    """``["zh=2", "en=1"]`` -> ``{"zh": 2.0, "en": 1.0}`` (the fitting script's ``--language-weight``)."""
    weights = {}
    for item in items:
        language, sep, value = item.partition("=")
        try:
            weights[language.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not language.strip():
            raise ValueError(f"language weight '{item}': expected LANG=WEIGHT, e.g. zh=2")
    return weights


def _logistic(
    z: np.ndarray, y: np.ndarray, c: float, weights: np.ndarray, samples: np.ndarray, max_iter: int,
    classes: tuple[str, ...] | None,
) -> LinearHead:
    """Standardise, weight the blocks, fit a class-balanced logistic regression."""
    return logistic_path(z, y, (c,), weights, samples, max_iter, classes)[0]


def logistic_path(
    z: np.ndarray, y: np.ndarray, cs: Sequence[float], weights: np.ndarray, samples: np.ndarray, max_iter: int,
    classes: tuple[str, ...] | None,
) -> list[LinearHead]:
    """``_logistic`` at each C of ``cs`` (ascending), each fit starting from the previous solution.

    The optimum does not depend on the start; warm starts only cut the solver's iterations, which is
    what makes nested selection over a grid affordable on a shared CPU.
    """
    from sklearn.linear_model import LogisticRegression

    mean = z.mean(axis=0)
    scale = np.maximum(z.std(axis=0), 1e-6) / weights
    x = (z - mean) / scale
    # With fewer rows than columns the L2 optimum lies in the rows' span (the loss gradient is a sum of
    # rows): fitting on the rows' coordinates in that span (x = U S Vᵀ -> U S) and mapping the
    # coefficients back (β Vᵀ) gives the same head with a fraction of the solver's work.
    basis = None
    if x.shape[0] < x.shape[1]:
        u, singular, basis = np.linalg.svd(x, full_matrices=False)
        x = u * singular
    model = LogisticRegression(class_weight="balanced", max_iter=max_iter, warm_start=True)
    heads = []
    for c in cs:
        model.set_params(C=c)
        model.fit(x, y, sample_weight=samples)
        names = tuple(str(k) for k in model.classes_) if classes is None else classes
        coef = model.coef_ @ basis if basis is not None else model.coef_.copy()
        heads.append(LinearHead(names, mean, scale, coef, model.intercept_.copy()))
    return heads


def _shell(clips: ClipSet, options: FitOptions) -> VoiceEmotionModel:
    """A model with populations and settings but no heads yet: what normalisation needs."""
    populations = {}
    for lang in np.unique(clips.languages):
        rows = clips.languages == lang
        populations[str(lang)] = PopulationBaseline.from_speakers(clips.X[rows], clips.speakers[rows])
    populations["*"] = PopulationBaseline.from_speakers(clips.X, clips.speakers)
    return VoiceEmotionModel(
        blocks=options.blocks, block_dims=options.block_dims, block_weights=options.block_weights,
        encoder=options.encoder, encoder_input=options.encoder_input, encoder_layers=options.encoder_layers,
        arousal_from_labels=options.arousal_from_labels, emotion={}, arousal={}, populations=populations,
        shrinkage=options.shrinkage, min_baseline=options.min_baseline,
        min_population_speakers=options.min_population_speakers,
        clip_trim=options.speech_trim.cache_key() if options.speech_trim else None,
    )


def normalised(model: VoiceEmotionModel, clips: ClipSet, mode: str) -> np.ndarray:
    """Each clip's z-vector as ``model`` would make it, each speaker against their full baseline (speaker mode)."""
    z = np.zeros_like(clips.X, dtype=np.float64)
    for speaker in np.unique(clips.speakers):
        rows = clips.speakers == speaker
        language = str(clips.languages[rows][0])
        baseline = SpeakerBaseline.from_vectors(clips.X[rows]) if mode == "speaker" else None
        z[rows], _ = model.normalise(clips.X[rows], language, baseline)
    return z


def _targets(clips: ClipSet, keep: frozenset[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Emotion rows and classes (labels in ``keep`` stay classes of their own), arousal rows and targets."""
    mapped = np.array([str(label) if str(label) in keep else LABEL_MAP.get(str(label)) or ""
                       for label in clips.labels])
    emotion_rows = mapped != ""
    arousal = np.array([arousal_target(str(label)) for label in clips.labels], dtype=object)
    arousal_rows = arousal != None  # noqa: E711 - elementwise comparison on an object array
    return emotion_rows, mapped, arousal_rows, arousal


def _choose_c(
    z: np.ndarray, y: np.ndarray, groups: np.ndarray, weights: np.ndarray, samples: np.ndarray, options: FitOptions
) -> float:
    """C with the best balanced accuracy over an inner leave-speakers-out split of the training speakers."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import GroupKFold

    n_groups = len(np.unique(groups))
    if len(options.c_grid) == 1 or n_groups < 2:
        return options.c_grid[len(options.c_grid) // 2]
    splitter = GroupKFold(n_splits=min(options.inner_folds, n_groups))
    best, best_c = -1.0, options.c_grid[0]
    for c in options.c_grid:
        truth, guess = [], []
        for fit_rows, val_rows in splitter.split(z, y, groups):
            head = _logistic(z[fit_rows], y[fit_rows], c, weights, samples[fit_rows], options.max_iter, None)
            # sklearn orders classes as np.unique does; proba columns follow that order.
            guess.append(np.unique(y[fit_rows])[head.proba(z[val_rows]).argmax(axis=1)])
            truth.append(y[val_rows])
        score = balanced_accuracy_score(np.concatenate(truth), np.concatenate(guess))
        if score > best:
            best, best_c = score, c
    return best_c


def fit_voice_model(clips: ClipSet, options: FitOptions | None = None) -> VoiceEmotionModel:
    """Fit both modes' emotion and arousal heads on ``clips`` (every speaker in it is a training speaker)."""
    from threadpoolctl import threadpool_limits

    # These are small problems (hundreds of rows, ~1000 columns): multi-threaded BLAS only adds
    # overhead, eight to ten times slower when measured on a busy two-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit(clips, options or FitOptions())


def _sample_weights(clips: ClipSet, options: FitOptions) -> np.ndarray:
    """Every speaker counts the same however many clips they recorded, times their language's weight.

    Without this a corpus with 300 clips per speaker (CASIA) outweighs one with 60 (RAVDESS)
    five to one, and the head drifts toward its speakers.
    """
    weights = np.ones(len(clips))
    if options.speaker_balance:
        names, counts = np.unique(clips.speakers, return_counts=True)
        per_clip = dict(zip(names, 1.0 / counts, strict=True))
        weights = np.array([per_clip[s] for s in clips.speakers])
    weights *= np.array([options.language_weights.get(str(lang), 1.0) for lang in clips.languages])
    return weights / weights.mean()


def _fit(clips: ClipSet, options: FitOptions) -> VoiceEmotionModel:
    model = _shell(clips, options)
    chosen: dict[str, float] = {}
    columns = model.column_weights()
    groups = {"*": np.ones(len(clips), dtype=bool)}
    for language in options.language_heads:
        rows = clips.languages == language
        # A language head needs speakers of its own to be worth more than the shared head.
        if len(np.unique(clips.speakers[rows])) >= 2:
            groups[language] = rows
    for language, rows in groups.items():
        part = clips.take(rows)
        emotion_rows, mapped, arousal_rows, arousal = _targets(part, frozenset(options.own_classes))
        samples = _sample_weights(part, options)
        for mode in ("speaker", "clip"):
            z = normalised(model, part, mode)
            ze, ye, ge, we = z[emotion_rows], mapped[emotion_rows], part.speakers[emotion_rows], samples[emotion_rows]
            c = _choose_c(ze, ye, ge, columns, we, options)
            chosen[f"{language}/{mode}/emotion"] = c
            head = _logistic(ze, ye, c, columns, we, options.max_iter, None)
            missing = [label for label in LABELS if label not in head.classes]
            if missing:  # a label no training clip had: never predicted
                head = LinearHead(head.classes + tuple(missing), head.mean, head.scale,
                                  np.vstack([head.coef, np.zeros((len(missing), head.coef.shape[1]))]),
                                  np.concatenate([head.intercept, np.full(len(missing), -30.0)]))
            model.emotion.setdefault(language, {})[mode] = head
            za, ya, wa = z[arousal_rows], arousal[arousal_rows].astype(int), samples[arousal_rows]
            c = _choose_c(za, ya, part.speakers[arousal_rows], columns, wa, options)
            chosen[f"{language}/{mode}/arousal"] = c
            model.arousal.setdefault(language, {})[mode] = _logistic(za, ya, c, columns, wa, options.max_iter,
                                                                     ("low", "high"))
    model.card["fit"] = {"C": chosen, "clips": len(clips), "speakers": len(np.unique(clips.speakers))}
    return model


# ---- manifests ----------------------------------------------------------------------------------
MANIFEST_FIELDS = ("path", "speaker", "label", "language", "corpus")


def read_manifest(path: Path | str) -> list[dict[str, str]]:
    """Rows of a CSV or JSONL manifest with at least path, speaker, label, language, corpus.

    Relative clip paths are taken relative to the manifest's folder.
    """
    path = Path(path)
    if path.suffix in {".jsonl", ".json"}:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    else:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        missing = [k for k in MANIFEST_FIELDS if not row.get(k)]
        if missing:
            raise ValueError(f"{path}: row {i + 1} lacks {', '.join(missing)} (expected {', '.join(MANIFEST_FIELDS)})")
        clip = Path(row["path"])
        row["path"] = str(clip if clip.is_absolute() else (path.parent / clip).resolve())
    return rows


def clips_from_manifest(
    rows: Sequence[dict[str, str]],
    blocks: Sequence[str],
    encoder: EncoderConfig,
    prosody: ProsodyConfig,
    cache: FeatureCache | None = None,
    progress: ProgressHook | None = None,
    trim: SpeechTrim | None = None,
) -> tuple[ClipSet, dict[str, int]]:
    """Feature rows of every manifest clip (cut to its speech when ``trim`` is given; extracted or read from
    the cache) and each block's width."""
    paths = [row["path"] for row in rows]
    parts, dims = [], {}
    for block in blocks:
        if block == "encoder":
            matrix = encoder_vectors(paths, encoder, cache, progress, trim=trim)
        elif block == "prosody":
            matrix = prosody_vectors(paths, prosody, cache, progress, trim=trim)
        else:
            raise ValueError(f"unknown feature block '{block}' (known: encoder, prosody)")
        parts.append(matrix)
        dims[block] = int(matrix.shape[1])
    column = {k: np.array([row[k] for row in rows]) for k in ("speaker", "label", "language", "corpus")}
    clips = ClipSet(np.hstack(parts).astype(np.float64), column["speaker"], column["label"],
                    column["language"], column["corpus"])
    return clips, dims
