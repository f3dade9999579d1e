"""Emotion-stage bench: its real-time factor beside transcription's (tiny.en), and the ratio.

    .venv/bin/python bench/bench_emotion.py
    .venv/bin/python bench/bench_emotion.py --head /path/voice_head.joblib --repeats 3

Two calls: the shared 30 s mono telephone call, and a built two-channel call (RAVDESS actor 01's
neutral clips as the agent on the left, actor 02 going neutral -> angry -> neutral on the right, with
gaps). For each, transcription (tiny.en, English) and the emotion stage (voice features + text +
fusion, events, trajectories) are timed separately on warm models (the first run loads them and is not
counted; transcription and the stage take turns, and the best of ``--repeats`` of each is reported).
Diarization runs before them so the stage sees real turns, but is not timed here. Target (issue #4):
the emotion stage adds at most 20 % to transcription.
Skips with a message where ``../shared/data`` is absent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import peak_memory_mb, shared_data_or_exit  # noqa: E402

SAMPLE_RATE = 16000


def build_call(ravdess: Path, out: Path) -> Path:
    """Agent (actor 01, neutral/calm) left, customer (actor 02: neutral, angry, angry, neutral) right."""
    import soundfile as sf

    from engine.emotion.voice.features import load_clip

    def clip(emotion: int, actor: int, sentence: int, intensity: int = 1) -> np.ndarray:
        return load_clip(ravdess / f"03-01-{emotion:02d}-{intensity:02d}-{sentence:02d}-01-{actor:02d}.flac")

    plan = [(0, clip(1, 1, 1)), (1, clip(1, 2, 1)), (0, clip(2, 1, 2)), (1, clip(5, 2, 1, 2)),
            (0, clip(2, 1, 1)), (1, clip(5, 2, 2, 2)), (0, clip(1, 1, 2)), (1, clip(1, 2, 2)), (0, clip(2, 1, 1, 2))]
    placed, t = [], 0.5
    for channel, audio in plan:
        placed.append((channel, t, audio))
        t += len(audio) / SAMPLE_RATE + 0.7
    samples = np.zeros((int((t + 0.5) * SAMPLE_RATE), 2), np.float32)
    for channel, start, audio in placed:
        first = round(start * SAMPLE_RATE)
        samples[first:first + len(audio), channel] = audio
    sf.write(out, samples, SAMPLE_RATE, subtype="PCM_16")
    return out


def best_of(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--head", default=None, help="voice head (default: the shipped one)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    shared = shared_data_or_exit()

    from engine.config import load_config
    from engine.diarize import run_diarization
    from engine.emotion.stage import EmotionAnalyzer
    from engine.pipeline import Engine

    overrides = {"asr": {"model": "tiny.en", "language": "en"}}
    if args.head:
        overrides["extra"] = {"emotion": {"voice": {"head": args.head}}}  # type: ignore[dict-item]
    config = load_config(overrides=overrides)
    engine = Engine(config)
    started = time.perf_counter()
    analyzer = EmotionAnalyzer(config.emotion, config.runtime)
    load_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        calls = {
            "telephone_2spk (30 s mono)": shared / "calls" / "telephone_2spk.wav",
            "built RAVDESS call (stereo)": build_call(shared / "emotion" / "ravdess_dev", Path(tmp) / "built.wav"),
        }
        print(f"emotion models loaded in {load_seconds:.1f} s (the voice encoder loads on first use)")
        print(f"{'call':<30} {'audio s':>8} {'asr RTF':>8} {'emotion RTF':>12} {'ratio':>7}   emotion steps (s)")
        for name, path in calls.items():
            recording, analysis = engine.intake(path)
            engine.transcribe(recording, analysis, language="en")  # warm-up: loads the ASR model
            run_diarization(analysis, recording, config.diarize, engine.diarizer)
            analyzer.run(analysis.model_copy(deep=True), recording)  # warm-up: loads encoder, text model
            emotion_runs: list = []

            def emotion(a=analysis, r=recording, runs=emotion_runs) -> None:
                runs.append(analyzer.run(a.model_copy(deep=True), r))

            # Interleaved, so that a slow spell of a shared machine falls on both sides of the ratio.
            asr_times, stage_times = [], []
            for _ in range(args.repeats):
                asr_times.append(best_of(1, lambda r=recording: engine.transcriber.transcribe(r, language="en")))
                stage_times.append(best_of(1, emotion))
            asr, stage = min(asr_times), min(stage_times)
            steps = {}
            for timing in emotion_runs[-1].timings:
                if timing.stage.startswith("emotion."):
                    steps[timing.stage.removeprefix("emotion.")] = timing.seconds
            events = [e.kind for e in emotion_runs[-1].events if e.kind in ("escalation", "de_escalation",
                                                                            "agent_deterioration")]
            duration = recording.duration
            print(f"{name:<30} {duration:>8.1f} {asr / duration:>8.3f} {stage / duration:>12.3f} "
                  f"{stage / asr:>7.0%}   {', '.join(f'{k} {v:.2f}' for k, v in steps.items())}; "
                  f"{len(analysis.turns)} turns; events: {', '.join(events) or 'none'}")
    print(f"target: emotion <= 20 % of transcription; peak memory {peak_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
