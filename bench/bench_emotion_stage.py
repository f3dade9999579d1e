"""The whole emotion stage (``callqa emotion --same-speaker``) on held-out RAVDESS actors (issue 24).

    .venv/bin/python bench/bench_emotion_stage.py                 # outer folds of three actors: 01-03 … 10-12
    .venv/bin/python bench/bench_emotion_stage.py --fold-size 1   # each actor alone
    .venv/bin/python bench/bench_emotion_stage.py --save /tmp/stage.json   # every clip's result, for analysis

For each outer fold the English voice head is fitted as the shipped one is (``training.RECIPES["en"]``:
tiny.en layers 2+3, prosody, C 0.003, speech trim; ``fit_voice_model``) but on the *other* speakers only:
every other RAVDESS actor and the CASIA speakers. The shipped head's spread floor and neutral prior are
carried over (they were measured on calm real calls and read speech, not on RAVDESS). That head is put into
the emotion stage (``EmotionAnalyzer.clips(..., language="en", same_speaker=True)``, the head chosen
through ``emotion.voice.heads.en`` as a configuration would) and each held-out actor's 60 clips are judged
together as one speaker, with no text, as ``callqa emotion --same-speaker`` does without ``--with-text``.

Scoring, in the stage's labels: four-class clips are neutral, happy, sad and angry (calm is left out of
the four classes, as the voice bench does, and reported on its own); the stage's neutral -> neutral,
satisfied -> happy, sad, angry; frustrated and anxious are no four-class answer and count as wrong (shown
in their own columns). Fearful, disgust and surprised clips are reported apart: what the stage reads them as.

What is held out: the fitted weights (and the populations the head normalises against). The recipe's
settings (layers, prosody weight, C, arousal mix) were chosen by nested selection on all 14 speakers, and
the fusion's, floor's and prior's settings on calm calls and earlier RAVDESS figures: so this is a
held-out-actor figure for the weights, not for those choices.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench.common import shared_data_or_exit  # noqa: E402

FOUR = ("neutral", "happy", "sad", "angry")
STAGE_TO_FOUR = {"neutral": "neutral", "satisfied": "happy", "sad": "sad", "angry": "angry"}
STAGE_LABELS = ("neutral", "satisfied", "sad", "angry", "frustrated", "anxious")
OTHER_CLIPS = ("calm", "fear", "disgust", "surprise")


def outer_folds(actors: list[str], size: int) -> list[list[str]]:
    """Actors in order, ``size`` at a time (01-03, 04-06, … for three)."""
    return [actors[k:k + size] for k in range(0, len(actors), size)]


def fold_head(bank, options, held: list[str], shipped):  # type: ignore[no-untyped-def]
    """The English head fitted as the shipped one, on every speaker of ``bank`` but ``held``."""
    from engine.emotion.voice.training import fit_voice_model

    train = bank.take(~np.isin(bank.clips.speakers, held))
    clips, dims = train.view(options.encoder_layers)
    model = fit_voice_model(clips, dataclasses.replace(options, block_dims=dims))
    model.spread_floor, model.neutral_prior, model.prior_distance = (shipped.spread_floor, shipped.neutral_prior,
                                                                     shipped.prior_distance)
    model.card = {"recipe": "en", "held_out": held, "fit": model.card.get("fit", {})}
    return model


def mean_se(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0


def figures(rows: list[dict]) -> dict[str, object]:
    """Four-class accuracy (per actor and pooled), anger and happy recall, confusion, the other clips' reading."""
    four = [r for r in rows if r["truth"] in FOUR]
    hit = [STAGE_TO_FOUR.get(r["stage"]) == r["truth"] for r in four]
    actors = sorted({r["actor"] for r in four})
    per_actor = {a: float(np.mean([h for r, h in zip(four, hit, strict=True) if r["actor"] == a])) for a in actors}
    mean, se = mean_se(list(per_actor.values()))
    confusion = {t: Counter(r["stage"] for r in four if r["truth"] == t) for t in FOUR}

    def recall(label: str) -> float:
        n = sum(confusion[label].values())
        return confusion[label][{"happy": "satisfied"}.get(label, label)] / n if n else float("nan")

    others = {t: Counter(r["stage"] for r in rows if r["truth"] == t) for t in OTHER_CLIPS}
    return {"actors": len(actors), "four_class_per_actor": (mean, se), "four_class_pooled": float(np.mean(hit)),
            "per_actor": per_actor, "anger_recall": recall("angry"), "happy_recall": recall("happy"),
            "confusion": confusion, "others": others}


def print_figures(name: str, f: dict) -> None:
    mean, se = f["four_class_per_actor"]
    print(f"{name}: four-class {mean:.3f} ± {se:.3f} per actor ({f['actors']} actors), pooled "
          f"{f['four_class_pooled']:.3f}; anger recall {f['anger_recall']:.3f}, happy recall {f['happy_recall']:.3f}")


def print_confusion(f: dict) -> None:
    print(f"  {'truth/stage':<14}" + "".join(f"{k:>11}" for k in STAGE_LABELS) + f"{'clips':>7}")
    for truth, counts in [*f["confusion"].items(), *f["others"].items()]:
        print(f"  {truth:<14}" + "".join(f"{counts[k]:>11}" for k in STAGE_LABELS) + f"{sum(counts.values()):>7}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold-size", type=int, default=3, help="held-out actors per outer fold (3: four folds)")
    parser.add_argument("--config", type=Path, help="YAML layered over configs/default.yaml (as callqa -c)")
    parser.add_argument("--save", type=Path, help="write every clip's stage result (JSON) here")
    args = parser.parse_args(argv)

    data = shared_data_or_exit()
    ravdess, casia = data / "emotion" / "ravdess_dev", data / "emotion" / "casia_dev"
    if not ravdess.is_dir():
        sys.exit(f"RAVDESS clips not found at {ravdess}: nothing to bench")

    from emotion_manifests import casia_rows, ravdess_rows

    from engine.audio import load_recording
    from engine.config import load_config
    from engine.emotion.stage import EmotionAnalyzer
    from engine.emotion.voice.head import VoiceEmotionModel, shipped_head
    from engine.emotion.voice.selection import SEARCH_SPACES, FeatureBank
    from engine.emotion.voice.training import RECIPES, FitOptions

    rows = ravdess_rows(ravdess) + (casia_rows(casia) if casia.is_dir() else [])
    options = FitOptions(**RECIPES["en"])  # type: ignore[arg-type]
    started = time.perf_counter()
    print(f"{len(rows)} training-candidate clips; features of tiny.en layers "
          f"{list(SEARCH_SPACES['en'].extracted_layers)} + prosody (cached)", file=sys.stderr)
    bank = FeatureBank.extract(rows, options.encoder, SEARCH_SPACES["en"].extracted_layers,
                               trim=options.speech_trim)
    shipped = VoiceEmotionModel.load(shipped_head("en"))
    actors = sorted({r["speaker"] for r in rows if r["corpus"] == "ravdess"})
    folds = outer_folds(actors, args.fold_size)
    results: list[dict] = []
    by_fold: list[tuple[str, list[dict]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for held in folds:
            head = fold_head(bank, options, held, shipped)
            path = Path(tmp) / f"voice_head_en_{'_'.join(held)}.joblib"
            head.save(path)
            config = load_config(args.config, {"emotion": {"voice": {"heads": {"en": str(path)}}}})
            analyzer = EmotionAnalyzer(config.emotion, config.runtime)
            fold_rows: list[dict] = []
            for actor in held:
                clips = [r for r in rows if r["speaker"] == actor]
                audios = [load_recording(Path(r["path"]), config.audio).mono() for r in clips]
                emotions = analyzer.clips(audios, language="en", same_speaker=True)
                for r, e in zip(clips, emotions, strict=True):
                    voice = e.signals.get("voice", {})
                    fold_rows.append({"actor": actor, "path": Path(r["path"]).name, "truth": r["label"],
                                      "intensity": r.get("intensity", ""), "stage": e.label,
                                      "scores": e.scores, "valence": e.valence, "arousal": e.arousal,
                                      "voice": voice})
            name = f"{held[0].split('-')[-1]}-{held[-1].split('-')[-1]}" if len(held) > 1 else held[0]
            by_fold.append((name, fold_rows))
            results += fold_rows
            print(f"  fold {name} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    print("Whole emotion stage, same speaker, no text; English head fitted without the held-out actors")
    for name, fold_rows in by_fold:
        print_figures(f"fold {name}", figures(fold_rows))
    overall = figures(results)
    print_figures("overall", overall)
    print_confusion(overall)
    print("  per actor: " + ", ".join(f"{a.split('-')[-1]} {v:.2f}" for a, v in overall["per_actor"].items()))
    for truth in ("happy", "surprise", "calm"):
        counts = overall["confusion"].get(truth) or overall["others"].get(truth)
        n = sum(counts.values())
        print(f"  {truth} clips read neutral: {counts['neutral']} of {n} ({counts['neutral'] / n:.0%})")
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.save:
        args.save.write_text(json.dumps(results, indent=1) + "\n")
        print(f"clips -> {args.save}")


if __name__ == "__main__":
    main()
