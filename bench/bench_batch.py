"""Batch throughput on Ray: audio seconds per wall second with 1 and 2 workers, and time outside the models.

    .venv/bin/python -m bench.bench_batch [--calls 12] [--seconds 30]

Builds a day of distinct calls (time-shifted cuts of the shared telephone call, made distinct so that
none is skipped as a duplicate), runs the batch into a fresh SQLite store with 1 and then 2 workers,
and prints: throughput, real-time factor, Ray start-up, and the share of worker time spent outside
``Engine.analyze`` (queueing, serialisation, storage, alerts) once the actors are up. Start-up (Ray, the
actors' processes and their imports) is printed apart: it is paid once per batch, not per call. CPU figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import shared_data_or_exit


def build_day(folder: Path, calls: int, seconds: float) -> list[Path]:
    from engine.audio import load_recording
    from tests.audio_factory import write_audio

    source = load_recording(shared_data_or_exit() / "calls" / "telephone_2spk.wav").samples[0]
    paths = []
    length = int(seconds * 16000)
    for n in range(calls):
        shift = (n * 7919) % len(source)
        audio = np.resize(np.roll(source, -shift), length)  # np.resize repeats the call when it is too short
        paths.append(write_audio(folder / f"call{n:03d}.wav", audio.astype(np.float32), 16000))
    return paths


def run(workers: int, folder: Path) -> dict[str, float]:
    import ray

    from engine.config import load_config
    from engine.store import Store
    from workers.batch import run_batch, shutdown
    from workers.config import BatchConfig
    from workers.intake import collect

    config = load_config(overrides={"alerts": {"sinks": []}})
    items = collect(folder)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        started = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        startup = time.perf_counter() - started
        report = run_batch(items, config, store, BatchConfig(workers=workers))
        wall = time.perf_counter() - started
        shutdown()
        store.close()
    startup += report.startup_seconds  # Ray itself, then the actors' processes and imports
    batch_wall = wall - startup
    # Worker time not spent inside Engine.analyze (model loading on the first call counts as model time).
    outside = 1 - report.model_seconds / (batch_wall * workers)
    return {"workers": workers, "calls": report.done, "audio_s": report.audio_seconds, "wall_s": wall,
            "startup_s": startup, "throughput": report.audio_seconds / batch_wall,
            "rtf": batch_wall / report.audio_seconds, "outside_pct": 100 * outside}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build_day(folder, args.calls, args.seconds)
        print(f"{args.calls} calls × {args.seconds:.0f} s (CPU, full analysis: ASR, diarization, emotion, scoring)")
        print(f"{'workers':>7} {'calls':>5} {'audio s':>8} {'start-up s':>11} {'batch s':>8} "
              f"{'audio s/wall s':>14} {'RTF':>6} {'outside models':>14}")
        for workers in (1, 2):
            r = run(workers, folder)
            print(f"{r['workers']:>7} {r['calls']:>5} {r['audio_s']:>8.0f} {r['startup_s']:>11.1f} "
                  f"{r['wall_s'] - r['startup_s']:>8.1f} {r['throughput']:>14.2f} {r['rtf']:>6.3f} "
                  f"{r['outside_pct']:>13.1f}%")


if __name__ == "__main__":
    main()
