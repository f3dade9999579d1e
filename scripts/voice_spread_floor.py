"""Measure a voice head's spread floor on calm speech, store it in the head, and check calm calls before/after.

    .venv/bin/python scripts/voice_spread_floor.py engine/emotion/heads/voice_head_en.joblib \
        --rttm /tmp/rttm            # RTTMs of the mono calls: callqa diarize -f rttm CALL > /tmp/rttm/<stem>.rttm
    .venv/bin/python scripts/voice_spread_floor.py HEAD --check-only   # shares only, head untouched

Calm speech (``../shared/data``; see floor.py for why): the three calm real calls in ``calls/real``
(``lca_49_stereo.wav`` by channel — agent left, caller right — from its RTTM; the mono calls
``deepgram_support_mono.mp3`` and ``ibm_carloan_8k.wav`` from their diarization RTTMs),
``calls/telephone_2spk.wav`` from its reference RTTM, and read speech (Harvard sentences,
LibriSpeech) split at pauses. Turns shorter than 1 s are left out (the stage gives turns under
``min_turn_seconds`` no voice judgement either; 1 s keeps "okay"s out of the spread).

Check: the share of calm-call turns the voice alone reads as angry (likeliest label) and as aroused
(arousal >= 0.5), each speaker against their own turns in the call as the stage does, with the head as
it was (no floor, no prior), with the floor, and with the floor and the neutral prior. The floor used
for a call's check is measured without that call (leave-one-call-out), so the check is not the floor's
own data; the floor stored in the head is measured on all of it.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.emotion.voice.encoder import EncoderConfig  # noqa: E402
from engine.emotion.voice.features import VoiceFeatureExtractor  # noqa: E402
from engine.emotion.voice.floor import CalmTurn, spread_floor, turns_by_pauses, turns_from_rttm  # noqa: E402
from engine.emotion.voice.head import LABELS, VoiceEmotionModel  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CALLS = ("lca_49_stereo", "deepgram_support_mono", "ibm_carloan_8k", "telephone_2spk")
NEUTRAL_PRIOR = 0.3
"""The stored prior's strength: 30 % of the label evidence of a turn read as the speaker's usual goes to neutral
(0.5 halves the calm calls' voice-angry share but costs RAVDESS four-class 2.7 points: docs/voice_emotion.md)."""
PRIOR_DISTANCE = 0.2
"""Total-variation distance from the usual reading at which the pull has fallen to 0.6 of its largest."""


def calm_turns(rttm_dir: Path) -> list[CalmTurn]:
    """Every calm turn of the sources above (a mono call without its RTTM is skipped with a note)."""
    real = SHARED / "calls" / "real"
    turns = turns_from_rttm(real / "lca_49_stereo.wav", rttm_dir / "lca_49_stereo.rttm", "lca_49_stereo",
                            channel_speakers=True)
    mono = (("deepgram_support_mono", "deepgram_support_mono.mp3"), ("ibm_carloan_8k", "ibm_carloan_8k.wav"))
    for stem, name in mono:
        rttm = rttm_dir / f"{stem}.rttm"
        if rttm.exists() and rttm.stat().st_size:
            turns += turns_from_rttm(real / name, rttm, stem)
        else:
            print(f"note: {rttm} absent: {name} left out (callqa diarize -f rttm {real / name} > {rttm})",
                  file=sys.stderr)
    calls = SHARED / "calls"
    turns += turns_from_rttm(calls / "telephone_2spk.wav", calls / "telephone_2spk.rttm", "telephone_2spk")
    for name in ("harvard_8k.wav", "librispeech_1995.wav"):
        turns += turns_by_pauses(SHARED / "asr" / "en" / name, Path(name).stem)
    return turns


def turn_vectors(turns: Sequence[CalmTurn], encoder: EncoderConfig, cache: Path | None = None) -> np.ndarray:
    """Raw feature rows (encoder of ``encoder``'s layers, then prosody) of every turn, cached in ``cache``."""
    from engine.audio.decode import load_recording

    key = json.dumps([encoder.cache_key(), [dataclasses.astuple(t)[1:] for t in turns]], default=str)
    path = cache / f"calm-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npy" if cache else None
    if path and path.exists():
        return np.load(path)
    extractor = VoiceFeatureExtractor(encoder=encoder)
    rows: dict[int, np.ndarray] = {}
    by_audio: dict[tuple[Path, int | None], list[int]] = {}
    for i, turn in enumerate(turns):
        by_audio.setdefault((turn.path, turn.channel), []).append(i)
    for (audio_path, channel), indices in by_audio.items():
        recording = load_recording(audio_path)
        audio = recording.mono() if channel is None else recording.samples[channel]
        features = extractor.turns(audio, [(turns[i].start, turns[i].end) for i in indices])
        for i, f in zip(indices, features, strict=True):
            rows[i] = np.concatenate([f.block("encoder"), f.block("prosody")])
    matrix = np.stack([rows[i] for i in range(len(turns))])
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, matrix)
    return matrix


def voice_shares(head: VoiceEmotionModel, vectors: np.ndarray, speakers: np.ndarray) -> dict[str, float]:
    """Share of turns read angry (likeliest label) and aroused (>= 0.5), each speaker against their own turns."""
    angry = aroused = 0
    labels: dict[str, int] = {}
    for speaker in np.unique(speakers):
        rows = vectors[speakers == speaker]
        probs, arousal, _ = head.predict_arrays(rows, "en", head.baseline_for(rows))
        guess = np.array(LABELS)[probs.argmax(axis=1)]
        angry += int((guess == "angry").sum())
        aroused += int((arousal >= 0.5).sum())
        for label in guess:
            labels[str(label)] = labels.get(str(label), 0) + 1
    n = len(vectors)
    return {"turns": n, "angry": angry / n, "aroused": aroused / n,
            "labels": {k: round(v / n, 3) for k, v in sorted(labels.items())}}  # type: ignore[dict-item]


def floor_record(turns: Sequence[CalmTurn], speakers: np.ndarray) -> dict[str, object]:
    names, counts = np.unique(speakers, return_counts=True)
    return {
        "what": "per feature, the median over calm speakers (>= 3 turns of >= 1 s) of their own standard "
                "deviation: no speaker baseline's spread is taken smaller",
        "sources": sorted({t.source for t in turns}),
        "speakers": {str(s): int(c) for s, c in zip(names, counts, strict=True) if c >= 3},
        "turns": [[t.source, t.speaker.split("/", 1)[1], round(t.start, 2), round(t.end, 2)] for t in turns],
        "how": "scripts/voice_spread_floor.py (mono calls segmented by `callqa diarize -f rttm`, lca_49 by "
               "channel, telephone_2spk by its reference RTTM, read speech at pauses); the head is not fitted on them",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("heads", nargs="+", type=Path)
    parser.add_argument("--rttm", type=Path, default=Path("/tmp/rttm"), help="folder of the calls' RTTM files")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "callqa" / "calm")
    parser.add_argument("--check-only", action="store_true", help="print the calm-call shares, change no head")
    parser.add_argument("--neutral-prior", type=float, default=NEUTRAL_PRIOR)
    parser.add_argument("--prior-distance", type=float, default=PRIOR_DISTANCE)
    args = parser.parse_args(argv)
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is absent: the calm calls live in ../shared/data")
    turns = calm_turns(args.rttm)
    speakers = np.array([t.speaker for t in turns])
    sources = np.array([t.source for t in turns])
    for path in args.heads:
        head = VoiceEmotionModel.load(path)
        encoder = EncoderConfig(model=head.encoder, layers=head.encoder_layers, input=head.encoder_input)
        vectors = turn_vectors(turns, encoder, args.cache)
        bare = dataclasses.replace(head, spread_floor=None, neutral_prior=0.0, prior_distance=args.prior_distance)
        calls = [c for c in CALLS if c in set(sources)]
        results: dict[str, dict[str, float]] = {}
        for variant in ("head alone", "floor", "floor + prior"):
            pooled = {"angry": 0.0, "aroused": 0.0, "turns": 0}
            for call in calls:
                rows = sources == call
                # The floor a call is checked with is measured without that call.
                floor = spread_floor(vectors[~rows], speakers[~rows])
                model = bare if variant == "head alone" else dataclasses.replace(
                    bare, spread_floor=floor, neutral_prior=args.neutral_prior if "prior" in variant else 0.0)
                shares = voice_shares(model, vectors[rows], speakers[rows])
                print(f"{path.name:<24} {variant:<14} {call:<22} {shares['turns']:>4} turns: "
                      f"angry {shares['angry']:.0%}, aroused {shares['aroused']:.0%}, labels {shares['labels']}")
                for k in ("angry", "aroused"):
                    pooled[k] += shares[k] * shares["turns"]
                pooled["turns"] += shares["turns"]
            results[variant] = {k: round(pooled[k] / pooled["turns"], 3) for k in ("angry", "aroused")}
            results[variant]["turns"] = pooled["turns"]
            print(f"{path.name:<24} {variant:<14} {'all calm calls':<22} {results[variant]}")
        if args.check_only:
            continue
        head.spread_floor = spread_floor(vectors, speakers)
        head.neutral_prior, head.prior_distance = args.neutral_prior, args.prior_distance
        head.card["spread_floor"] = {**floor_record(turns, speakers), "calm_call_voice_shares": results,
                                     "neutral_prior": {"strength": args.neutral_prior,
                                                       "distance": head.prior_distance}}
        head.save(path)
        path.with_suffix(".card.json").write_text(json.dumps(head.card, indent=2, ensure_ascii=False) + "\n")
        print(f"floor and prior -> {path}")


if __name__ == "__main__":
    main()
