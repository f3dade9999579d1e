"""Bench: text emotion on the labelled evaluation sets (tests/data/text_emotion/{en,zh}.tsv).

    .venv/bin/python -m bench.bench_text_emotion                      # shipped configuration
    .venv/bin/python -m bench.bench_text_emotion --compare            # back-ends x lexicon on / off
    .venv/bin/python -m bench.bench_text_emotion --backend en=minilm --lexicon-weight 0

Prints accuracy, macro-F1, the 3-way collapse (negative = angry + frustrated, positive = satisfied, the
rest neutral-ish) and the cost per turn (embeddings batched; the models loaded beforehand). The evaluation
sets are never fitted on: the classifier learns only from configs/emotion/examples.*.yaml.
"""

from __future__ import annotations

import argparse
import time

from bench.common import PROJECT_ROOT, peak_memory_mb
from engine.emotion.config import TextEmotionConfig
from engine.emotion.text import TextEmotionClassifier
from engine.emotion.text.evaluation import TextEmotionScore, evaluate, read_labelled_tsv

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", nargs="+", default=["en", "zh"], choices=["en", "zh"])
    parser.add_argument("--backend", action="append", default=[], help="language=minilm|e5 (repeatable)")
    parser.add_argument("--lexicon-weight", type=float, default=None)
    parser.add_argument("--compare", action="store_true", help="every back-end with and without the lexicon")
    parser.add_argument("--confusion", action="store_true", help="print the confusion matrix")
    args = parser.parse_args()

    base = TextEmotionConfig()
    overrides: dict[str, object] = {}
    if args.backend:
        overrides["backend"] = {**base.backend, **dict(item.split("=", 1) for item in args.backend)}
    if args.lexicon_weight is not None:
        overrides["lexicon_weight"] = args.lexicon_weight
    config = TextEmotionConfig.model_validate({**base.model_dump(), **overrides})

    if not args.compare:
        run(config, args.language, "configured", args.confusion)
        return
    for language in args.language:
        backends = ["minilm", "e5"] if language == "en" else ["e5"]
        for backend in backends:
            for weight in (0.0, base.lexicon_weight):
                update = {"backend": {**config.backend, language: backend}, "lexicon_weight": weight}
                variant = config.model_copy(update=update)
                run(variant, [language], f"{backend} lexicon={weight:g}", args.confusion)


if __name__ == "__main__":
    main()
