"""Fit the voice-emotion head on labelled clips, report leave-speakers-out figures, write head + card.

    .venv/bin/python scripts/emotion_manifests.py ravdess ../shared/data/emotion/ravdess_dev -o /tmp/ravdess.csv
    .venv/bin/python scripts/emotion_manifests.py casia ../shared/data/emotion/casia_dev -o /tmp/casia.csv
    .venv/bin/python scripts/fit_voice_emotion.py /tmp/ravdess.csv /tmp/casia.csv

Manifests are CSV or JSONL with path, speaker, label, language, corpus (any number of corpora).
Features are cached under ``<CALLQA_CACHE>/features`` (file hash + extractor settings), so a refit
after the first extraction takes seconds to minutes, not an hour.

Evaluation: the speakers of every corpus are dealt round-robin into ``--folds`` folds; each fold
is scored by a head fitted on all the other folds (C chosen inside those training speakers), in
both modes: ``speaker`` (per-speaker normalisation over the speaker's clips) and ``clip`` (no
baseline). Figures are printed per corpus and language. The head written at the end is fitted on
every clip.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from engine.emotion.voice.encoder import EncoderConfig
from engine.emotion.voice.evaluation import Scored, score_speakers
from engine.emotion.voice.head import DEFAULT_HEAD, HEADS_DIR, LABEL_MAP, LABELS
from engine.emotion.voice.prosody import ProsodyConfig, feature_names
from engine.emotion.voice.training import (
    RECIPES,
    ClipSet,
    FitOptions,
    clips_from_manifest,
    fit_voice_model,
    parse_language_weights,
    read_manifest,
)

LICENCES = {
    "ravdess": "RAVDESS (Livingstone & Russo 2018), CC BY-NC-SA 4.0: non-commercial, share-alike",
    "casia": "CASIA Chinese emotional speech corpus (Institute of Automation, CAS), public subset: research use only",
}


def round_robin_folds(clips: ClipSet, n_folds: int) -> list[np.ndarray]:
    """Masks of held-out clips: each corpus's speakers dealt in turn into the folds."""
    assignment: dict[str, int] = {}
    for corpus in sorted(set(clips.corpora)):
        for i, speaker in enumerate(sorted(set(clips.speakers[clips.corpora == corpus]))):
            assignment[speaker] = i % n_folds
    folds = np.array([assignment[s] for s in clips.speakers])
    return [folds == k for k in range(n_folds) if (folds == k).any()]


def evaluate(clips: ClipSet, options: FitOptions, n_folds: int) -> dict[str, dict[str, float]]:
    """Leave-speakers-out figures per corpus/language and mode."""
    scored = {"speaker": Scored(), "clip": Scored()}
    for k, held_out in enumerate(round_robin_folds(clips, n_folds)):
        started = time.time()
        model = fit_voice_model(clips.take(~held_out), options)
        test = clips.take(held_out)
        scored["speaker"].extend(score_speakers(model, test, "all"))
        scored["clip"].extend(score_speakers(model, test, None))
        print(f"  fold {k + 1}: {len(np.unique(test.speakers))} speakers held out, "
              f"fitted in {time.time() - started:.0f} s", file=sys.stderr)
    report: dict[str, dict[str, float]] = {}
    groups = sorted({(c, lang) for c, lang in zip(clips.corpora, clips.languages, strict=True)})
    for mode, result in scored.items():
        for corpus, language in groups:
            figures = result.metrics(lambda c, lang, want=(corpus, language): (c, lang) == want)
            report[f"{corpus}/{language}/{mode}"] = figures
    return report


def print_report(report: dict[str, dict[str, float]]) -> None:
    print(f"{'corpus/language/mode':<24} {'clips':>6} {'arousal':>8} {'4-class':>8} {'anger F1':>9} "
          f"{'anger F1 all':>13}")
    for key, m in report.items():
        print(f"{key:<24} {int(m['n']):>6} {m['arousal_bacc']:>8.3f} {m['four_class']:>8.3f} "
              f"{m['anger_f1']:>9.3f} {m['anger_f1_all']:>13.3f}")


def card(clips: ClipSet, options: FitOptions, report: dict[str, dict[str, float]], fitted: dict,
         extractor: dict[str, dict]) -> dict:
    where = f"states after layers {list(options.encoder_layers)}" if options.encoder_layers else "last layer"
    corpora = {}
    for corpus in sorted(set(clips.corpora)):
        rows = clips.corpora == corpus
        corpora[corpus] = {
            "clips": int(rows.sum()), "speakers": sorted(set(clips.speakers[rows])),
            "languages": sorted(set(clips.languages[rows])),
            "labels": {str(k): int(v) for k, v in zip(*np.unique(clips.labels[rows], return_counts=True), strict=True)},
            "licence": LICENCES.get(corpus, "not recorded: state it before shipping"),
        }
    return {
        "name": "callqa voice-emotion head",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "labels": list(LABELS), "label_map": LABEL_MAP,
        "arousal": "P(high arousal): high = angry, fear, happy, surprise; low = neutral, calm, sad",
        "features": {"blocks": list(options.blocks), "block_dims": options.block_dims,
                     "block_weights": options.block_weights,
                     "encoder": f"faster-whisper {options.encoder} encoder, {where}, mean+std over the utterance; "
                                f"input: {options.encoder_input}",
                     "prosody": feature_names(),
                     # Every setting that changes the vectors (as the feature cache keys them), precision included.
                     "extractor": extractor},
        "data": corpora,
        "licence_note": "The head's weights are fitted on the corpora above and carry their terms: "
                        "non-commercial / research use unless refitted on data licensed for the product.",
        "evaluation": {"protocol": "leave-speakers-out, speakers of each corpus dealt round-robin into folds; "
                                   "speaker = per-speaker normalisation over the speaker's clips, clip = no baseline",
                       "figures": report},
        "fit": fitted,
        "options": {k: v for k, v in dataclasses.asdict(options).items() if k != "block_dims"},
    }


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """The fitting recipe, and overrides of it (shared with bench/bench_voice_emotion.py)."""
    parser.add_argument("--recipe", default="en", choices=sorted(RECIPES),
                        help="en: the English head (tiny.en); multilingual: every other language (base)")
    parser.add_argument("--encoder",
                        help="Whisper model whose encoder is pooled (base, tiny.en, a CTranslate2 directory)")
    parser.add_argument("--encoder-input", default="turn", choices=("turn", "window"),
                        help="turn: each clip encoded alone, unpadded (default); window: padded 30 s windows")
    parser.add_argument("--layers", help="encoder layers to pool, comma-separated, 1-based (e.g. 2,3); "
                                         "'last': CTranslate2's last-layer output")
    parser.add_argument("--language-weight", action="append", default=[], metavar="LANG=W",
                        help="extra weight of a language's clips in the shared head, e.g. zh=2")
    parser.add_argument("--blocks", default="encoder,prosody", help="feature blocks, comma-separated")
    parser.add_argument("--prosody-weight", type=float)
    parser.add_argument("--c-grid", help="candidate C values, comma-separated (chosen inside the training speakers)")
    parser.add_argument("--threads", type=int, default=0, help="encoder CPU threads (0: the library chooses)")


def recipe_from_args(args: argparse.Namespace) -> tuple[EncoderConfig, FitOptions]:
    """The encoder and fitting options of ``--recipe``, with any flag given on the command line taking over."""
    recipe = dict(RECIPES[args.recipe])
    if args.encoder:
        recipe["encoder"] = args.encoder
    if args.layers:
        recipe["encoder_layers"] = () if args.layers == "last" else tuple(int(k) for k in args.layers.split(","))
    if args.language_weight:
        recipe["language_weights"] = parse_language_weights(args.language_weight)
    if args.prosody_weight is not None:
        recipe["block_weights"] = {"encoder": 1.0, "prosody": args.prosody_weight}
    if args.c_grid:
        recipe["c_grid"] = tuple(float(c) for c in args.c_grid.split(","))
    options = FitOptions(blocks=tuple(b.strip() for b in args.blocks.split(",") if b.strip()),
                         encoder_input=args.encoder_input, **recipe)  # type: ignore[arg-type]
    encoder = EncoderConfig(model=options.encoder, threads=args.threads, input=args.encoder_input,
                            layers=options.encoder_layers)
    return encoder, options


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifests", nargs="+", type=Path)
    add_recipe_arguments(parser)
    parser.add_argument("--folds", type=int, default=4, help="leave-speakers-out folds (0: no evaluation)")
    parser.add_argument("--out", type=Path, help="where the head goes (default: the recipe's shipped head)")
    parser.add_argument("--no-save", action="store_true", help="evaluate only")
    args = parser.parse_args(argv)

    rows = [row for manifest in args.manifests for row in read_manifest(manifest)]
    encoder, options = recipe_from_args(args)
    print(f"{len(rows)} clips from {len(args.manifests)} manifest(s); extracting {', '.join(options.blocks)} "
          "(cached after the first run)", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            print(f"  {done}/{total}", file=sys.stderr)

    clips, options.block_dims = clips_from_manifest(rows, options.blocks, encoder, ProsodyConfig(), progress=progress)
    report: dict[str, dict[str, float]] = {}
    if args.folds > 1:
        report = evaluate(clips, options, args.folds)
        print_report(report)
    if args.no_save:
        return
    out = args.out or (DEFAULT_HEAD if args.recipe == "multilingual"
                       else HEADS_DIR / f"voice_head_{args.recipe}.joblib")
    model = fit_voice_model(clips, options)
    extractor = {"encoder": encoder.cache_key(), "prosody": ProsodyConfig().cache_key()}
    model.card = card(clips, options, report, model.card.get("fit", {}), extractor)
    model.card["recipe"] = args.recipe
    model.save(out)
    card_path = out.with_suffix(".card.json")
    card_path.write_text(json.dumps(model.card, indent=2, ensure_ascii=False) + "\n")
    print(f"head -> {out} ({out.stat().st_size / 1024:.0f} KB), card -> {card_path}")


if __name__ == "__main__":
    main()
