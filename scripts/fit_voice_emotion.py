"""Fit the voice-emotion head on labelled clips, report leave-speakers-out figures, write head + card.

    .venv/bin/python scripts/emotion_manifests.py ravdess ../shared/data/emotion/ravdess_dev -o /tmp/ravdess.csv
    .venv/bin/python scripts/emotion_manifests.py casia ../shared/data/emotion/casia_dev -o /tmp/casia.csv
    .venv/bin/python scripts/fit_voice_emotion.py /tmp/ravdess.csv /tmp/casia.csv

Manifests are CSV or JSONL with path, speaker, label, language, corpus (any number of corpora). A recipe
with ``speech_trim`` (the English one) cuts each clip to its speech before its features are made, as the
engine's turns are (``--whole-clips``: keep the silence).
Features are cached under ``<CALLQA_CACHE>/features`` (file hash + extractor settings), so a refit
after the first extraction takes seconds to minutes, not an hour.

Evaluation is nested leave-speaker-out (``engine/emotion/voice/selection.py``): each corpus's
speakers make up to ``--folds`` outer folds (default 12: each RAVDESS actor alone, so that each outer head
is fitted on 11 of the 12 actors the shipped head is fitted on; ``--folds 4``: actors three at a time; CASIA:
one per speaker); for each, the recipe's search space (encoder layers, prosody weight, C, calm class,
arousal mix) is decided by an inner leave-speakers-out split of the *other* speakers only, a head
is fitted on them with that choice and the fold is scored, in both modes: ``speaker`` (per-speaker
normalisation over the speaker's clips) and ``clip`` (no baseline). Only these outer figures are
printed, with every fold's choice. The head written at the end is fitted on every clip with the
settings the same selection picks on all speakers. ``--layers``, ``--prosody-weight`` and
``--c-grid`` narrow the search to what they give.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from engine.emotion.voice.encoder import EncoderConfig
from engine.emotion.voice.head import DEFAULT_HEAD, HEADS_DIR, LABEL_MAP, LABELS
from engine.emotion.voice.prosody import ProsodyConfig, feature_names
from engine.emotion.voice.selection import (
    SEARCH_SPACES,
    Choice,
    FeatureBank,
    NestedReport,
    SearchSpace,
    nested_evaluation,
    select,
)
from engine.emotion.voice.training import (
    RECIPES,
    ClipSet,
    FitOptions,
    fit_voice_model,
    parse_language_weights,
    read_manifest,
)

LICENCES = {
    "ravdess": "RAVDESS (Livingstone & Russo 2018), CC BY-NC-SA 4.0: non-commercial, share-alike",
    "casia": "CASIA Chinese emotional speech corpus (Institute of Automation, CAS), public subset: research use only",
}


def evaluate(bank: FeatureBank, options: FitOptions, space: SearchSpace, n_folds: int,
             n_jobs: int = 1) -> NestedReport:
    """Nested leave-speaker-out outer figures (progress on stderr)."""
    return nested_evaluation(bank, options, space, n_folds, log=lambda line: print(line, file=sys.stderr),
                             n_jobs=n_jobs)


def print_report(report: dict[str, dict[str, float]], choices: list[dict[str, object]] | None = None) -> None:
    """The outer figures (pooled over clips; in brackets the mean ± SE across held-out speakers) and choices."""
    print(f"{'corpus/mode':<18} {'clips':>6} {'arousal':>16} {'4-class':>16} {'anger F1':>16}")
    for key, m in report.items():
        cells = [f"{m[k]:.3f} ({m[k + '_speaker_mean']:.2f}±{m[k + '_speaker_se']:.2f})" if k + "_speaker_mean" in m
                 else f"{m[k]:.3f}" for k in ("arousal_bacc", "four_class", "anger_f1")]
        print(f"{key:<18} {int(m['n']):>6} " + " ".join(f"{c:>16}" for c in cells))
    for fold in choices or []:
        print(f"  {fold['corpus']} {','.join(fold['held_out'])}: {Choice.from_dict(fold['choice']).describe()}; "  # type: ignore[arg-type]
              f"inner {fold['inner_criterion']:.3f} (best {fold['best_criterion']:.3f} ± {fold['best_se']:.3f})")


def card(clips: ClipSet, options: FitOptions, report: dict[str, dict[str, float]], fitted: dict,
         extractor: dict[str, dict], nested: dict[str, object]) -> dict:
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
        "evaluation": {"protocol": "nested leave-speaker-out: outer folds of whole speakers per corpus (each "
                                   "held out alone; see outer_folds), settings chosen by an inner "
                                   "leave-speakers-out split of each fold's training speakers only; speaker = "
                                   "per-speaker normalisation over the speaker's clips, clip = no baseline",
                       "figures": report, **nested},
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
    parser.add_argument("--whole-clips", action="store_true",
                        help="use the clips whole, silence and all, instead of cutting them to their speech")


def recipe_from_args(args: argparse.Namespace) -> tuple[EncoderConfig, FitOptions]:
    """The encoder and fitting options of ``--recipe`` as shipped, with any flag given taking over."""
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
    if args.whole_clips:
        recipe["speech_trim"] = None
    options = FitOptions(blocks=tuple(b.strip() for b in args.blocks.split(",") if b.strip()),
                         encoder_input=args.encoder_input, **recipe)  # type: ignore[arg-type]
    encoder = EncoderConfig(model=options.encoder, threads=args.threads, input=args.encoder_input,
                            layers=options.encoder_layers)
    return encoder, options


def search_from_args(args: argparse.Namespace) -> tuple[FitOptions, SearchSpace]:
    """The recipe's fixed options and the search space the nested procedure chooses in, narrowed by flags."""
    _, options = recipe_from_args(args)
    space = SEARCH_SPACES[args.recipe]
    if args.layers:
        if args.layers == "last":
            raise SystemExit("--layers last: give the last layer's number (tiny.en 4, base 6) for nested selection")
        space = dataclasses.replace(space, layer_sets=(tuple(int(k) for k in args.layers.split(",")),))
    if args.prosody_weight is not None:
        space = dataclasses.replace(space, prosody_weights=(args.prosody_weight,))
    if args.c_grid:
        space = dataclasses.replace(space, c_grid=tuple(float(c) for c in args.c_grid.split(",")))
    if tuple(options.blocks) != ("encoder", "prosody") or options.encoder_input != "turn":
        raise SystemExit("nested selection needs both feature blocks and per-turn encoder input")
    return options, space


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("manifests", nargs="+", type=Path)
    add_recipe_arguments(parser)
    parser.add_argument("--folds", type=int, default=12,
                        help="outer folds per corpus, of whole speakers (0: no evaluation)")
    parser.add_argument("--out", type=Path, help="where the head goes (default: the recipe's shipped head)")
    parser.add_argument("--no-save", action="store_true", help="evaluate only")
    parser.add_argument("--jobs", type=int, default=1, help="outer folds evaluated at once (processes)")
    parser.add_argument("--keep-folds", type=Path,
                        help="also write the outer folds (heads, held-out clips, choices) here (joblib), for analysis")
    args = parser.parse_args(argv)

    rows = [row for manifest in args.manifests for row in read_manifest(manifest)]
    options, space = search_from_args(args)
    print(f"{len(rows)} clips from {len(args.manifests)} manifest(s); extracting {options.encoder} layers "
          f"{list(space.extracted_layers)} and prosody (cached after the first run)", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            print(f"  {done}/{total}", file=sys.stderr)

    bank = FeatureBank.extract(rows, options.encoder, space.extracted_layers, args.threads, progress=progress,
                               trim=options.speech_trim)
    report: dict[str, dict[str, float]] = {}
    nested: dict[str, object] = {"search_space": dataclasses.asdict(space)}
    if args.folds > 1:
        result = evaluate(bank, options, space, args.folds, args.jobs)
        report, nested["outer_folds"] = result.figures(), result.choices()
        print_report(report, result.choices())  # type: ignore[arg-type]
        if args.keep_folds:
            import joblib

            joblib.dump(result, args.keep_folds, compress=3)
    if args.no_save:
        return
    out = args.out or (DEFAULT_HEAD if args.recipe == "multilingual"
                       else HEADS_DIR / f"voice_head_{args.recipe}.joblib")
    selection = select(bank, options, space, log=lambda line: print(line, file=sys.stderr))
    nested["chosen_on_all_speakers"] = selection.to_dict()
    print(f"chosen on all speakers: {selection.choice.describe()}")
    clips, dims = bank.view(selection.choice.layers)
    options = selection.choice.options(options, dims)
    model = fit_voice_model(clips, options)
    encoder = EncoderConfig(model=options.encoder, threads=args.threads, layers=options.encoder_layers)
    extractor = {"encoder": encoder.cache_key(), "prosody": ProsodyConfig().cache_key(),
                 "trim": options.speech_trim.cache_key() if options.speech_trim else None}
    model.card = card(clips, options, report, model.card.get("fit", {}), extractor, nested)
    model.card["recipe"] = args.recipe
    model.save(out)
    card_path = out.with_suffix(".card.json")
    card_path.write_text(json.dumps(model.card, indent=2, ensure_ascii=False) + "\n")
    print(f"head -> {out} ({out.stat().st_size / 1024:.0f} KB), card -> {card_path}")


if __name__ == "__main__":
    main()
