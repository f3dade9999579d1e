"""Voice-emotion bench: RAVDESS and CASIA figures, accuracy vs speaker-baseline size, and cost per second.

    .venv/bin/python bench/bench_voice_emotion.py                        # the English head's recipe (tiny.en)
    .venv/bin/python bench/bench_voice_emotion.py --recipe multilingual  # the multilingual head's (base)
    .venv/bin/python bench/bench_voice_emotion.py --layers last          # CTranslate2's last layer instead
    .venv/bin/python bench/bench_voice_emotion.py --blocks prosody --skip-cost

Protocols (no speaker is ever both fitted on and scored):
- RAVDESS actors 01-12, four folds of three actors; fitted on the other nine, alone and with both
  CASIA speakers added (the added data must not cost RAVDESS more than a point).
- CASIA: fitted on RAVDESS 01-12 plus one CASIA speaker, scoring the other, both ways, pooled.
- Baseline curve: a scored speaker's baseline is 50, 20, 10 or 5 of their *other* clips, drawn at
  random five times, with the fallback (shrinkage toward the language population) and without it;
  "none" is clip-by-clip. The heads are those of the with-CASIA RAVDESS folds and of the CASIA runs.
Features come from the cache that ``scripts/fit_voice_emotion.py`` fills (extracted here if absent).
Skips with a message where ``../shared/data`` is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from emotion_manifests import casia_rows, ravdess_rows  # noqa: E402
from fit_voice_emotion import add_recipe_arguments, recipe_from_args  # noqa: E402

from engine.emotion.voice.encoder import SAMPLE_RATE, EncoderConfig, EncoderFeatures  # noqa: E402
from engine.emotion.voice.evaluation import Scored, score_speakers, speaker_folds  # noqa: E402
from engine.emotion.voice.features import load_clip  # noqa: E402
from engine.emotion.voice.prosody import ProsodyConfig, prosody_vector  # noqa: E402
from engine.emotion.voice.training import RECIPES, ClipSet, FitOptions, clips_from_manifest, fit_voice_model  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "emotion"
CASIA_SPEAKERS = ("casia-liuchanhg", "casia-wangzhe")
SIZES: tuple[int | str | None, ...] = (50, 20, 10, 5, None)
# tiny.en int8, beam 1, on 2 cores: RTF about 0.06 (docs/models.md); the emotion stage may add 20 %.
BUDGET_SECONDS_PER_SECOND = 0.2 * 0.06


def figures_line(name: str, m: dict[str, float]) -> str:
    return (f"{name:<44} {int(m['n']):>6} {m['arousal_bacc']:>8.3f} {m['four_class']:>8.3f} "
            f"{m['anger_f1']:>9.3f} {m['anger_f1_all']:>9.3f}")


def header() -> str:
    return f"{'':<44} {'scored':>6} {'arousal':>8} {'4-class':>8} {'anger F1':>9} {'F1 all':>9}"


def ravdess_runs(rav: ClipSet, cas: ClipSet, options: FitOptions) -> tuple[dict[str, dict], list]:
    """Four folds of three actors, fitted without and with CASIA; returns figures and the with-CASIA heads."""
    out, heads = {}, []
    for with_casia in (False, True):
        scored = {"all": Scored(), None: Scored()}
        for fold in speaker_folds(rav.speakers, 4):
            held = np.isin(rav.speakers, fold)
            train = rav.take(~held) + cas if with_casia else rav.take(~held)
            model = fit_voice_model(train, options)
            for size in scored:
                scored[size].extend(score_speakers(model, rav.take(held), size))
            if with_casia:
                heads.append((model, rav.take(held)))
        tag = "+casia" if with_casia else ""
        out[f"ravdess{tag}/per-speaker"] = scored["all"].metrics()
        out[f"ravdess{tag}/clip-by-clip"] = scored[None].metrics()
    return out, heads


def casia_runs(rav: ClipSet, cas: ClipSet, options: FitOptions) -> tuple[dict[str, dict], list]:
    scored = {"all": Scored(), None: Scored()}
    heads = []
    for speaker in CASIA_SPEAKERS:
        train = rav + cas.take(cas.speakers != speaker)
        model = fit_voice_model(train, options)
        test = cas.take(cas.speakers == speaker)
        for size in scored:
            scored[size].extend(score_speakers(model, test, size))
        heads.append((model, test))
    return {"casia/per-speaker": scored["all"].metrics(), "casia/clip-by-clip": scored[None].metrics()}, heads


def baseline_curve(heads: list) -> dict[str, dict[str, dict[str, float]]]:
    curve: dict[str, dict[str, dict[str, float]]] = {}
    for fallback in (True, False):
        for size in SIZES:
            if size is None and not fallback:
                continue
            scored = Scored()
            for model, test in heads:
                scored.extend(score_speakers(model, test, size, fallback=fallback))
            curve.setdefault("fallback" if fallback else "own stats only", {})[str(size or "none")] = scored.metrics()
    return curve


def costs(configs: dict[str, EncoderConfig]) -> dict[str, float]:
    """Seconds of wall time per second of audio, on about 30 s of real speech in nine turns."""
    clips = [load_clip(p) for p in sorted((SHARED / "ravdess_dev").glob("*.flac"))[:9]]
    gap = np.zeros(SAMPLE_RATE // 2, np.float32)
    channel = np.concatenate([piece for clip in clips for piece in (clip, gap)])
    spans, start = [], 0.0
    for clip in clips:
        spans.append((start, start + len(clip) / SAMPLE_RATE))
        start = spans[-1][1] + len(gap) / SAMPLE_RATE
    seconds = len(channel) / SAMPLE_RATE
    out: dict[str, float] = {}
    for name, config in configs.items():
        encoder = EncoderFeatures(config)
        encoder.for_turns(channel, spans)  # warm-up
        started = time.perf_counter()
        for _ in range(3):
            encoder.for_turns(channel, spans)
        out[f"encoder: {name}"] = (time.perf_counter() - started) / 3 / seconds
    prosody_vector(clips[0])  # warm-up (librosa's first call compiles)
    started = time.perf_counter()
    for clip in clips:
        prosody_vector(clip, ProsodyConfig())
    out["prosody (per turn)"] = (time.perf_counter() - started) / seconds
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_recipe_arguments(parser)
    parser.set_defaults(threads=2)
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--skip-curve", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    if not SHARED.exists():
        print(f"SKIP: {SHARED} is absent (the emotion corpora live in ../shared/data)")
        return
    warnings.filterwarnings("ignore", category=UserWarning)

    rows = ravdess_rows(SHARED / "ravdess_dev") + casia_rows(SHARED / "casia_dev")
    encoder, options = recipe_from_args(args)
    clips, options.block_dims = clips_from_manifest(rows, options.blocks, encoder, ProsodyConfig())
    rav, cas = clips.take(clips.corpora == "ravdess"), clips.take(clips.corpora == "casia")
    layers = list(options.encoder_layers) or "last"
    print(f"recipe {args.recipe}: features {', '.join(f'{b} ({d})' for b, d in options.block_dims.items())}; "
          f"encoder {options.encoder}, input: {options.encoder_input}, layers: {layers}")

    started = time.time()
    results: dict[str, object] = {"recipe": args.recipe, "encoder": options.encoder, "layers": layers,
                                  "input": options.encoder_input, "blocks": list(options.blocks)}
    rav_figures, rav_heads = ravdess_runs(rav, cas, options)
    cas_figures, cas_heads = casia_runs(rav, cas, options)
    print(header())
    for name, m in {**rav_figures, **cas_figures}.items():
        print(figures_line(name, m))
    results["figures"] = {**rav_figures, **cas_figures}

    if not args.skip_curve:
        for corpus, heads in (("ravdess", rav_heads), ("casia", cas_heads)):
            curve = baseline_curve(heads)
            results[f"curve/{corpus}"] = curve
            print(f"\n{corpus}: accuracy vs speaker-baseline size (utterances)")
            print(header())
            for variant, by_size in curve.items():
                for size, m in by_size.items():
                    print(figures_line(f"{variant}, {size}", m))
    print(f"\nfitting and scoring took {time.time() - started:.0f} s")

    if not args.skip_cost:
        configs = {f"{name} recipe ({r['encoder']}, layers {list(r['encoder_layers'])})":  # type: ignore[call-overload]
                   EncoderConfig(model=str(r["encoder"]), layers=tuple(r["encoder_layers"]), threads=args.threads)
                   for name, r in RECIPES.items()}
        configs["tiny.en last layer (CTranslate2)"] = EncoderConfig(model="tiny.en", threads=args.threads)
        per_second = costs(configs)
        results["cost_seconds_per_audio_second"] = per_second
        print(f"\ncost (s per s of audio, {args.threads} threads; budget {BUDGET_SECONDS_PER_SECOND:.3f} = 20 % of "
              "tiny.en ASR at RTF 0.06)")
        for name, value in per_second.items():
            print(f"  {name:<36} {value:.4f}  ({value / BUDGET_SECONDS_PER_SECOND:.0%} of budget)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
