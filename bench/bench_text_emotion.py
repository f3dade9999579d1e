"""Bench: text emotion on the labelled evaluation sets (tests/data/text_emotion/{en,zh}.tsv) and on calls.

    .venv/bin/python -m bench.bench_text_emotion                      # shipped configuration
    .venv/bin/python -m bench.bench_text_emotion --before             # as before the shipped heads (examples only)
    .venv/bin/python -m bench.bench_text_emotion --compare            # lexicon on / off, examples-only fits
    .venv/bin/python -m bench.bench_text_emotion --calls /tmp/calls/*.json   # share of labels on calls' turns
    .venv/bin/python -m bench.bench_text_emotion --complaints [--show]       # held-out complaints (issue 23)

Prints accuracy, macro-F1, the 3-way collapse (negative = angry + frustrated, positive = satisfied, the
rest neutral-ish) and the cost per turn (embeddings batched; the models loaded beforehand). The evaluation
sets are never fitted on nor chosen on (the heads: scripts/fit_text_emotion.py, docs/text_emotion.md).

``--complaints`` reads the held-out sentences of ``tests/data/complaints.{en,zh}.yaml`` and prints, through the
turn fusion (words alone, and with a voice at the speaker's usual), the share of complaints read angry or
frustrated and what the calm sentences read; ``--show`` lists the misses (read them only after a change is made).

``--calls`` reads the JSON of ``callqa diarize FILE --format json`` (one file per call, its turns' texts)
and prints, per call and overall, the share of turns per label, of negative turns (angry, frustrated,
anxious, sad) and of angry-or-frustrated turns.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from bench.common import PROJECT_ROOT, peak_memory_mb
from engine.emotion.config import TextEmotionConfig
from engine.emotion.text import TextEmotionClassifier
from engine.emotion.text.evaluation import (
    TextEmotionScore,
    evaluate,
    read_complaint_set,
    read_labelled_tsv,
    score_complaints,
)

DATA = PROJECT_ROOT / "tests" / "data" / "text_emotion"


def _line(name: str, score: TextEmotionScore) -> str:
    return (
        f"{name:<28} {score.language}  n={score.n:<4} acc={score.accuracy:.3f}  macro-F1={score.macro_f1:.3f}  "
        f"3-way acc={score.three_way_accuracy:.3f}  3-way F1={score.three_way_macro_f1:.3f}  "
        f"{score.ms_per_turn:.1f} ms/turn"
    )


def _confusion(score: TextEmotionScore) -> str:
    head = "truth \\ predicted " + " ".join(f"{label[:5]:>6}" for label in score.labels)
    rows = [
        f"{label:<17} " + " ".join(f"{n:>6}" for n in row)
        for label, row in zip(score.labels, score.confusion, strict=True)
    ]
    return "\n".join([head, *rows])


def run(config: TextEmotionConfig, languages: list[str], name: str, show_confusion: bool) -> None:
    started = time.perf_counter()
    classifier = TextEmotionClassifier.load(config, device="cpu")
    for language in languages:
        classifier.prepare(language)
    load_seconds = time.perf_counter() - started
    for language in languages:
        score = evaluate(classifier, read_labelled_tsv(DATA / f"{language}.tsv"), language)
        print(_line(name, score), flush=True)
        if show_confusion:
            print(_confusion(score))
    print(f"{'':<28} load + fit {load_seconds:.1f} s, peak memory {peak_memory_mb():.0f} MB", flush=True)


NEGATIVE = ("angry", "frustrated", "anxious", "sad")


def call_shares(config: TextEmotionConfig, files: list[Path], language: str, name: str) -> None:
    """Share of each label over the turns of diarized calls (calm calls: negative turns are false alarms)."""
    classifier = TextEmotionClassifier.load(config, device="cpu")
    total: Counter[str] = Counter()
    for path in files:
        turns = [t for t in json.loads(path.read_text(encoding="utf-8"))["turns"] if t["text"].strip()]
        labels = Counter(r.label for r in classifier.predict([t["text"] for t in turns], language))
        total.update(labels)
        print(f"{name:<10} {path.name:<36} " + _shares(labels), flush=True)
    print(f"{name:<10} {'all calls':<36} " + _shares(total), flush=True)


def _shares(labels: Counter[str]) -> str:
    n = max(sum(labels.values()), 1)
    negative = sum(labels[x] for x in NEGATIVE) / n
    hostile = (labels["angry"] + labels["frustrated"]) / n
    return (f"n={sum(labels.values()):<4} negative={negative:5.1%}  angry+frustrated={hostile:5.1%}  "
            + " ".join(f"{label}={count}" for label, count in sorted(labels.items())))


def complaints(config: TextEmotionConfig, languages: list[str], name: str, show: bool) -> None:
    """Held-out complaints read angry or frustrated, and calm sentences read calm, through the turn fusion."""
    from engine.emotion.config import EmotionConfig

    classifier = TextEmotionClassifier.load(config, device="cpu")
    emotion = EmotionConfig(text=config)
    for language in languages:
        held_out = read_complaint_set(PROJECT_ROOT / "tests" / "data" / f"complaints.{language}.yaml")
        for voice, score in score_complaints(classifier, held_out, emotion).items():
            print(f"{name:<10} {language} voice={voice:<8} complaints n={len(held_out.complaints)} "
                  f"recall={score.recall:.3f}  calm n={len(held_out.calm)} angry/frustrated={score.calm_heated:.3f} "
                  f"neutral/satisfied={score.calm_neutral:.3f}", flush=True)
            if show:
                print("  missed: " + " | ".join(score.missed))
                print("  calm read otherwise: " + " | ".join(f"{t} ({label})" for t, label in score.false_alarms))


def before_config(config: TextEmotionConfig) -> TextEmotionConfig:
    """The classifier as it was before the shipped heads: fitted at load on the first example file alone."""
    return config.model_copy(update={"head_files": {},
                                     "example_files": {k: v[:1] for k, v in config.example_files.items()}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", nargs="+", default=["en", "zh"], choices=["en", "zh"])
    parser.add_argument("--backend", action="append", default=[], help="language=minilm|e5 (repeatable)")
    parser.add_argument("--lexicon-weight", type=float, default=None)
    parser.add_argument("--compare", action="store_true", help="every back-end with and without the lexicon")
    parser.add_argument("--confusion", action="store_true", help="print the confusion matrix")
    parser.add_argument("--before", action="store_true", help="also (or, with --compare, only) the old classifier")
    parser.add_argument("--calls", nargs="+", type=Path, default=[], help="diarize JSON files of calls")
    parser.add_argument("--call-language", default="en", help="language of the calls' turns")
    parser.add_argument("--complaints", action="store_true", help="held-out complaints (tests/data/complaints.*)")
    parser.add_argument("--show", action="store_true", help="with --complaints: list the misses")
    args = parser.parse_args()

    base = TextEmotionConfig()
    overrides: dict[str, object] = {}
    if args.backend:
        overrides["backend"] = {**base.backend, **dict(item.split("=", 1) for item in args.backend)}
    if args.lexicon_weight is not None:
        overrides["lexicon_weight"] = args.lexicon_weight
    config = TextEmotionConfig.model_validate({**base.model_dump(), **overrides})

    if args.complaints:
        complaints(config, args.language, "configured", args.show)
        return
    if args.calls:
        if args.before:
            call_shares(before_config(config), args.calls, args.call_language, "before")
        call_shares(config, args.calls, args.call_language, "after")
        return
    if not args.compare:
        if args.before:
            run(before_config(config), args.language, "before (examples only)", args.confusion)
        run(config, args.language, "configured", args.confusion)
        return
    # The back-end / lexicon comparison of the examples-only fit (a head file is fitted for one back-end).
    for language in args.language:
        backends = ["minilm", "e5"] if language == "en" else ["e5"]
        for backend in backends:
            for weight in (0.0, base.lexicon_weight):
                update = {"backend": {**config.backend, language: backend}, "lexicon_weight": weight}
                variant = before_config(config.model_copy(update=update))
                run(variant, [language], f"{backend} lexicon={weight:g}", args.confusion)


if __name__ == "__main__":
    main()
