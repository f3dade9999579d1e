"""Nested leave-speaker-out choice of a voice head's settings, and the outer figures that prove them.

A figure that chose a setting cannot also prove it. So a recipe names a small *search space*
(encoder layers, prosody weight, regularisation C, calm as a class of its own, the arousal mix) and
``nested_evaluation`` does, for every outer fold of held-out speakers:

1. ``select``: every candidate is scored by an inner leave-speakers-out split of the fold's *training*
   speakers only (each corpus's speakers dealt round-robin into ``inner_folds``); the criterion is
   the mean, over the held-out inner speakers, of arousal balanced accuracy, four-class accuracy
   and anger F1 in both modes (per speaker and clip by clip). Among the candidates within one
   standard error (across those speakers) of the best, the simplest is taken (``Choice.complexity``):
   two speakers' worth of noise does not buy a second layer or a doubled weight.
2. the head is fitted on all the fold's training speakers with the chosen settings;
3. the held-out speakers are scored. Only these outer figures are reported as the heads' figures.

``Selection.inner`` keeps the chosen candidate's own inner predictions (its held-out inner speakers, both
modes), and ``NestedReport.inner_figures`` pools them over the outer folds as ``figures`` pools the outer
ones: the figure the choice was made on, beside the figure that proves it (their gap is the optimism of
choosing; issue 24).

The shipped head is then fitted on every speaker with the settings ``select`` picks on all of them.

Encoder layers are compared without re-extracting: a ``FeatureBank`` holds the states of every
candidate layer side by side (one extraction, cached), and each candidate is a view of its columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.emotion.voice.encoder import EncoderConfig
from engine.emotion.voice.evaluation import (
    Scored,
    clip_metrics,
    corpus_folds,
    mean_and_se,
    round_robin_folds,
    score_speakers,
)
from engine.emotion.voice.features import FeatureCache, ProgressHook, SpeechTrim
from engine.emotion.voice.head import HIGH_AROUSAL, LABELS, VoiceEmotionModel
from engine.emotion.voice.prosody import ProsodyConfig
from engine.emotion.voice.training import (
    ClipSet,
    FitOptions,
    _sample_weights,
    _shell,
    _targets,
    clips_from_manifest,
    fit_voice_model,
    logistic_path,
    normalised,
)

MODES = ("speaker", "clip")
CRITERION = ("arousal_bacc", "four_class", "anger_f1")


@dataclass(frozen=True)
class SearchSpace:
    """What a recipe leaves to the nested procedure (kept small: every candidate is fitted per inner fold)."""

    layer_sets: tuple[tuple[int, ...], ...]
    prosody_weights: tuple[float, ...] = (1.0, 2.0)
    c_grid: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1)
    own_classes: tuple[tuple[str, ...], ...] = ((),)
    arousal_mixes: tuple[float, ...] = (0.0, 0.5, 0.7, 1.0)
    judged_by: str = "en"
    """Whose inner figures choose: a language with a head of its own (``en``: that head, on its speakers),
    or ``*`` (the shared head every other language uses, on every held-out speaker, corpora weighted equally)."""
    inner_folds: int = 3

    @property
    def extracted_layers(self) -> tuple[int, ...]:
        """Every layer any candidate uses: what the ``FeatureBank`` extracts once."""
        return tuple(sorted({k for layers in self.layer_sets for k in layers}))


SEARCH_SPACES: dict[str, SearchSpace] = {
    # English calls: tiny.en; "last" is its fourth layer (what CTranslate2 returns). Judged by the English head.
    "en": SearchSpace(layer_sets=((2, 3), (3,), (4,)), own_classes=((), ("calm",)), judged_by="en"),
    # Every other language: base ("last" = 6); judged by the shared head on every held-out speaker.
    "multilingual": SearchSpace(layer_sets=((2, 3), (3,), (6,)), judged_by="*"),
}
"""What ``scripts/fit_voice_emotion.py --recipe`` leaves to the nested choice (``training.RECIPES`` holds the rest)."""


@dataclass(frozen=True)
class Choice:
    """One candidate's settings."""

    layers: tuple[int, ...]
    prosody_weight: float
    c: float
    own_classes: tuple[str, ...] = ()
    arousal_mix: float = 0.7

    def complexity(self) -> tuple[float, ...]:
        """Simpler first: fewer and shallower layers (fewer columns, cheaper to run), default weights, no
        extra class, stronger regularisation (smaller C)."""
        return (len(self.layers), max(self.layers), float(self.prosody_weight != 1.0), len(self.own_classes), self.c)

    def options(self, base: FitOptions, block_dims: dict[str, int]) -> FitOptions:
        """``base`` with this choice's settings (one C: no further search inside the fit)."""
        return dataclasses.replace(
            base, encoder_layers=self.layers, block_dims=block_dims, c_grid=(self.c,),
            block_weights={"encoder": 1.0, "prosody": self.prosody_weight}, own_classes=self.own_classes,
            arousal_from_labels=self.arousal_mix,
        )

    def describe(self) -> str:
        calm = "+calm" if self.own_classes else ""
        return (f"layers {'+'.join(map(str, self.layers))}, prosody x{self.prosody_weight:g}, C {self.c:g}"
                f"{', calm class' if calm else ''}, arousal mix {self.arousal_mix:g}")

    def to_dict(self) -> dict[str, object]:
        return {"layers": list(self.layers), "prosody_weight": self.prosody_weight, "C": self.c,
                "own_classes": list(self.own_classes), "arousal_from_labels": self.arousal_mix}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Choice:
        return cls(tuple(data["layers"]), float(data["prosody_weight"]), float(data["C"]),  # type: ignore[arg-type]
                   tuple(data["own_classes"]), float(data["arousal_from_labels"]))  # type: ignore[arg-type]


@dataclass
class Selection:
    """What ``select`` measured and picked."""

    choice: Choice
    best: Choice
    table: list[tuple[Choice, float, float]]
    """Every candidate (with its best arousal mix) and its inner criterion: mean and standard error."""
    speakers: int
    inner: dict[str, Scored] = field(default_factory=dict)
    """Per mode: the chosen candidate's predictions of every held-out inner speaker (the clips the choice was
    judged on, each speaker once), as fitted inside ``select``."""

    def inner_figures(self) -> dict[str, dict[str, float]]:
        """Per corpus and mode: the chosen candidate's inner figures, pooled over its inner held-out clips."""
        return {f"{corpus}/{mode}": figures for mode, scored in self.inner.items()
                for corpus, figures in _by_corpus(scored).items()}

    def to_dict(self) -> dict[str, object]:
        best = next((m, se) for c, m, se in self.table if c == self.best)
        chosen = next(m for c, m, _ in self.table if c == self.choice)
        return {"choice": self.choice.to_dict(), "inner_criterion": round(chosen, 4),
                "best": self.best.to_dict(), "best_criterion": round(best[0], 4), "best_se": round(best[1], 4),
                "inner_speakers": self.speakers, "candidates": len(self.table),
                "inner_figures": {key: {k: round(v, 4) for k, v in m.items()}
                                  for key, m in self.inner_figures().items()}}


def _by_corpus(scored: Scored, corpora: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """``scored``'s pooled figures per corpus (only ``corpora`` if given; a corpus with no clips is left out), with
    each of ``CRITERION``'s mean and SE across the speakers."""
    out: dict[str, dict[str, float]] = {}
    for corpus in sorted(set(scored.corpora) if corpora is None else set(corpora) & set(scored.corpora)):
        def where(c: str, _lang: str, want: str = corpus) -> bool:
            return c == want
        figures = scored.metrics(where)
        speakers = scored.per_speaker(where)
        for k in CRITERION:
            mean, se = mean_and_se([m[k] for m in speakers.values()])
            figures[f"{k}_speaker_mean"], figures[f"{k}_speaker_se"] = mean, se
        out[corpus] = figures
    return out


@dataclass
class FeatureBank:
    """Clips with the pooled states of several encoder layers side by side, then prosody.

    Per layer the encoder block holds ``2 * width`` columns (mean, then standard deviation), in the
    order of ``layers``; ``view`` cuts out any subset as the vectors an extractor of those layers makes.
    """

    clips: ClipSet
    encoder: str
    layers: tuple[int, ...]
    width: int
    prosody_dim: int

    @classmethod
    def extract(
        cls, rows: Sequence[dict[str, str]], encoder: str, layers: Sequence[int], threads: int = 0,
        cache: FeatureCache | None = None, progress: ProgressHook | None = None, trim: SpeechTrim | None = None,
    ) -> FeatureBank:
        """Features of every manifest row, cut to its speech first when ``trim`` is given (cached on disk: one
        extraction per encoder, layer set and trim)."""
        config = EncoderConfig(model=encoder, layers=tuple(sorted(set(layers))), threads=threads)
        clips, dims = clips_from_manifest(rows, ("encoder", "prosody"), config, ProsodyConfig(), cache, progress,
                                          trim)
        width = dims["encoder"] // (2 * len(config.layers))
        return cls(clips, encoder, config.layers, width, dims["prosody"])

    def take(self, mask: np.ndarray) -> FeatureBank:
        return dataclasses.replace(self, clips=self.clips.take(mask))

    def columns(self, layers: Sequence[int]) -> np.ndarray:
        """Column indices of ``layers``' encoder states and of prosody."""
        missing = [k for k in layers if k not in self.layers]
        if missing:
            raise ValueError(f"layers {missing} were not extracted (the bank holds {list(self.layers)})")
        step = 2 * self.width
        encoder = [np.arange(self.layers.index(k) * step, (self.layers.index(k) + 1) * step) for k in layers]
        start = len(self.layers) * step
        return np.concatenate([*encoder, np.arange(start, start + self.prosody_dim)])

    def view(self, layers: Sequence[int]) -> tuple[ClipSet, dict[str, int]]:
        """The clips as a head of ``layers`` sees them, and its block widths."""
        c = self.clips
        return (ClipSet(c.X[:, self.columns(layers)], c.speakers, c.labels, c.languages, c.corpora),
                {"encoder": 2 * self.width * len(layers), "prosody": self.prosody_dim})


def _arousal(probs: np.ndarray, binary: np.ndarray, mix: float) -> np.ndarray:
    high = probs[:, [LABELS.index(label) for label in LABELS if label in HIGH_AROUSAL]].sum(axis=1)
    return (1.0 - mix) * binary + mix * high


def _judged_rows(clips: ClipSet, judged_by: str) -> np.ndarray:
    return np.ones(len(clips), dtype=bool) if judged_by == "*" else clips.languages == judged_by


def _criterion(values: dict[str, list[float]], corpus_of: dict[str, str]) -> tuple[float, float]:
    """Mean of the per-speaker criterion, each corpus weighing the same; SE across all speakers."""
    per_speaker = {s: float(np.mean(v)) for s, v in values.items()}
    corpora = sorted(set(corpus_of[s] for s in per_speaker))
    mean = float(np.mean([np.mean([v for s, v in per_speaker.items() if corpus_of[s] == c]) for c in corpora]))
    _, se = mean_and_se(list(per_speaker.values()))
    return mean, se


def select(bank: FeatureBank, base: FitOptions, space: SearchSpace,
           log: Callable[[str], None] | None = None) -> Selection:
    """The settings the inner leave-speakers-out split of ``bank``'s speakers (all training speakers) picks."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # small problems: threads only add overhead
        return _select(bank, base, space, log)


def _select(bank: FeatureBank, base: FitOptions, space: SearchSpace,
            log: Callable[[str], None] | None) -> Selection:
    train = bank.clips
    corpus_of = {str(s): str(c) for s, c in zip(train.speakers, train.corpora, strict=True)}
    folds = round_robin_folds(train.speakers, train.corpora, space.inner_folds)
    cs = tuple(sorted(space.c_grid))
    # candidate (arousal mix left at 0) -> mix -> speaker -> criterion values (one per mode and figure)
    values: dict[Choice, dict[float, dict[str, list[float]]]] = {}
    # (candidate, mode) -> per inner fold: held-out clips, label probabilities, binary arousal (for Selection.inner)
    predicted: dict[tuple[Choice, str], list[tuple[ClipSet, np.ndarray, np.ndarray]]] = {}
    for layers in space.layer_sets:
        clips, dims = bank.view(layers)
        for held in folds:
            fit_part, val_part = clips.take(~held), clips.take(held)
            fit_part = fit_part.take(_judged_rows(fit_part, space.judged_by))
            val_part = val_part.take(_judged_rows(val_part, space.judged_by))
            if len(val_part) == 0 or len(np.unique(fit_part.speakers)) < 2:
                continue
            options = dataclasses.replace(base, encoder_layers=layers, block_dims=dims)
            shell = _shell(clips.take(~held), options)  # populations from every training speaker, as _fit does
            samples = _sample_weights(fit_part, options)
            _, _, arousal_rows, arousal = _targets(fit_part, frozenset())
            for mode in MODES:
                z_fit, z_val = normalised(shell, fit_part, mode), normalised(shell, val_part, mode)
                for weight in space.prosody_weights:
                    columns = np.concatenate([np.ones(dims["encoder"]), np.full(dims["prosody"], weight)])
                    binary_heads = logistic_path(z_fit[arousal_rows], arousal[arousal_rows].astype(int), cs,
                                                 columns, samples[arousal_rows], base.max_iter, ("low", "high"))
                    for own in space.own_classes:
                        emotion_rows, mapped, _, _ = _targets(fit_part, frozenset(own))
                        heads = logistic_path(z_fit[emotion_rows], mapped[emotion_rows], cs, columns,
                                              samples[emotion_rows], base.max_iter, None)
                        for c, head, binary_head in zip(cs, heads, binary_heads, strict=True):
                            probs = VoiceEmotionModel._fold(head.proba(z_val), head.classes)
                            binary = binary_head.proba(z_val)[:, 1]
                            key = Choice(tuple(layers), weight, c, tuple(own), 0.0)
                            predicted.setdefault((key, mode), []).append((val_part, probs, binary))
                            for mix in space.arousal_mixes:
                                per = values.setdefault(key, {}).setdefault(mix, {})
                                arousal_val = _arousal(probs, binary, mix)
                                for speaker in np.unique(val_part.speakers):
                                    rows = val_part.speakers == speaker
                                    m = clip_metrics(val_part.labels[rows], probs[rows], arousal_val[rows])
                                    per.setdefault(str(speaker), []).extend(m[k] for k in CRITERION)
        if log:
            log(f"    layers {'+'.join(map(str, layers))}: {len(folds)} inner folds scored")
    table = []
    for key, by_mix in values.items():
        scored = {mix: _criterion(v, corpus_of) for mix, v in by_mix.items()}
        mix = max(scored, key=lambda m: scored[m][0])
        table.append((dataclasses.replace(key, arousal_mix=mix), *scored[mix]))
    if not table:
        raise ValueError("no inner fold could be scored: the training speakers are too few for nested selection")
    best, best_mean, best_se = max(table, key=lambda row: row[1])
    eligible = [row for row in table if row[1] >= best_mean - best_se]
    choice = min(eligible, key=lambda row: row[0].complexity())[0]
    judged = {s for by_mix in values.values() for per in by_mix.values() for s in per}
    inner = {mode: Scored() for mode in MODES}
    for mode in MODES:
        for val_part, probs, binary in predicted[(dataclasses.replace(choice, arousal_mix=0.0), mode)]:
            inner[mode].add(val_part, np.arange(len(val_part)), probs, _arousal(probs, binary, choice.arousal_mix))
    return Selection(choice, best, sorted(table, key=lambda row: -row[1]), len(judged), inner)


@dataclass
class OuterFold:
    """One outer fold: who was held out, what the inner split chose, and the head fitted with it."""

    corpus: str
    speakers: list[str]
    selection: Selection
    model: VoiceEmotionModel
    test: ClipSet


@dataclass
class NestedReport:
    """Outer-fold predictions of every held-out speaker, in both modes, and each fold's choice."""

    folds: list[OuterFold] = field(default_factory=list)
    scored: dict[str, Scored] = field(default_factory=lambda: {m: Scored() for m in MODES})

    def figures(self) -> dict[str, dict[str, float]]:
        """Per corpus and mode: the pooled figures, and each figure's mean and SE across speakers."""
        corpora = sorted({f.corpus for f in self.folds})
        by_mode = {mode: _by_corpus(scored, corpora) for mode, scored in self.scored.items()}
        return {f"{corpus}/{mode}": by_mode[mode][corpus] for corpus in corpora for mode in self.scored}

    def inner_figures(self) -> dict[str, dict[str, float]]:
        """The inner figures the choices were made on, laid out as ``figures``: per corpus C and mode, the chosen
        candidates' predictions of their inner held-out speakers of C, pooled over the outer folds that hold out
        speakers of C (the folds whose outer figure on C ``figures`` pools). The "speaker" mean and SE are across
        (outer fold, inner speaker) pairs. A corpus no inner split judged (the ``en`` recipe on CASIA) is absent."""
        out: dict[str, dict[str, float]] = {}
        for corpus in sorted({f.corpus for f in self.folds}):
            for mode in MODES:
                pooled = Scored()
                for k, fold in enumerate(f for f in self.folds if f.corpus == corpus):
                    scored = fold.selection.inner.get(mode)
                    if scored is None:
                        continue
                    tagged = dataclasses.replace(scored, speakers=[f"{k}:{s}" for s in scored.speakers])
                    pooled.extend(tagged)
                if corpus in pooled.corpora:
                    out[f"{corpus}/{mode}"] = _by_corpus(pooled, [corpus])[corpus]
        return out

    def choices(self) -> list[dict[str, object]]:
        return [{"corpus": f.corpus, "held_out": f.speakers, **f.selection.to_dict()} for f in self.folds]


def nested_evaluation(
    bank: FeatureBank, base: FitOptions, space: SearchSpace, n_folds: int = 4,
    log: Callable[[str], None] | None = None, n_jobs: int = 1,
) -> NestedReport:
    """Outer folds of whole speakers (``corpus_folds``), each with its own nested choice (see module docstring).

    ``n_jobs`` outer folds run at once (processes); each is single-threaded.
    """
    from joblib import Parallel, delayed

    folds = corpus_folds(bank.clips, n_folds)
    done = Parallel(n_jobs=n_jobs)(delayed(outer_fold)(bank, base, space, corpus, speakers, log if n_jobs == 1
                                                         else None) for corpus, speakers in folds)
    report = NestedReport()
    for fold, (by_speaker, clip_by_clip) in done:
        report.folds.append(fold)
        report.scored["speaker"].extend(by_speaker)
        report.scored["clip"].extend(clip_by_clip)
        if log:
            log(f"  outer fold {fold.corpus} {','.join(fold.speakers)}: {fold.selection.choice.describe()}")
    return report


def outer_fold(bank: FeatureBank, base: FitOptions, space: SearchSpace, corpus: str, speakers: list[str],
                log: Callable[[str], None] | None = None) -> tuple[OuterFold, tuple[Scored, Scored]]:
    """One outer fold: ``speakers`` held out, settings chosen on the rest, fitted on the rest, the held-out scored
    (per speaker, clip by clip)."""
    held = np.isin(bank.clips.speakers, speakers)
    train = bank.take(~held)
    selection = select(train, base, space, log)
    clips, dims = train.view(selection.choice.layers)
    model = fit_voice_model(clips, selection.choice.options(base, dims))
    test, _ = bank.take(held).view(selection.choice.layers)
    scored = (score_speakers(model, test, "all"), score_speakers(model, test, None))
    return OuterFold(corpus, speakers, selection, model, test), scored

