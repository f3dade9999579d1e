"""Diarization benchmark: DER and real-time factor per stage, beside tiny.en transcription time.

    .venv/bin/python -m bench.bench_diarize                      # configured pipeline vs pyannote's windows
    .venv/bin/python -m bench.bench_diarize --threads 1 --runs 5
    .venv/bin/python -m bench.bench_diarize --variant step=0.25 --variant max_seconds=4

DER is pyannote.metrics' DiarizationErrorRate with overlap scored: with a ±0.25 s collar
(``collar=0.5``, pyannote's collar is the total width) and with none. Times are medians over
``--runs`` after one warm-up run (model loading is not counted: a worker loads once). The budget
is the tiny.en transcription of the same audio on the same threads
(beam 1, word timestamps, VAD filter): diarizing a mono call must cost no more than that.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from bench.common import shared_data_or_exit

MONO = "calls/telephone_2spk.wav"
REFERENCE = "calls/telephone_2spk.rttm"
STEREO = "calls/stereo_2spk.wav"
STAGES = ("segmentation", "embeddings", "clustering", "reconstruction", "total")
# pyannote's own SpeakerDiarization defaults: a window every tenth of a window, one embedding per batch,
# overlapping speech embedded too.
PYANNOTE_WINDOWS = {"step": 0.1, "batch_size": 1, "exclude_overlap": False}
SHORT_KEYS = {"step": ("segmentation", "step"), "segmentation_batch": ("segmentation", "batch_size"),
              "batch_size": ("embedding", "batch_size"), "exclude_overlap": ("embedding", "exclude_overlap"),
              "max_seconds": ("embedding", "max_seconds"), "min_seconds": ("embedding", "min_seconds"),
              "threshold": ("clustering", "threshold"), "method": ("clustering", "method")}


def _parse_value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def variant_config(settings: dict[str, Any]) -> Any:
    from engine.diarize import DiarizeConfig

    data: dict[str, dict[str, Any]] = {}
    for key, value in settings.items():
        section, field = SHORT_KEYS[key]
        data.setdefault(section, {})[field] = value
    return DiarizeConfig.model_validate(data)


def measure_variant(name: str, settings: dict[str, Any], recording: Any, reference: Any, runs: int) -> dict[str, Any]:
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    from engine.diarize import Diarizer

    diarizer = Diarizer(variant_config(settings), device="cpu")
    diarizer.diarize(recording, uri=reference.uri)  # warm-up (and model loading)
    results = [diarizer.diarize(recording, uri=reference.uri) for _ in range(runs)]
    hypothesis = results[0].annotation
    duration = recording.samples.shape[1] / recording.sample_rate
    uem = Timeline([Segment(0.0, duration)])

    def der(collar: float) -> float:
        return DiarizationErrorRate(collar=collar, skip_overlap=False)(reference, hypothesis, uem=uem)

    seconds = {stage: statistics.median(r.timings.get(stage, 0.0) for r in results) for stage in STAGES}
    return {
        "variant": name,
        "settings": settings,
        "der_collar_0.5": round(der(collar=0.5), 4),
        "der_no_collar": round(der(collar=0.0), 4),
        "speakers": len(hypothesis.labels()),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "rtf": {k: round(v / duration, 4) for k, v in seconds.items()},
    }


def transcription_seconds(samples: Any, runs: int, threads: int) -> float:
    """tiny.en on the same audio: the time budget of mono diarization."""
    from faster_whisper import WhisperModel

    from engine.models import ensure_model_dir

    model = WhisperModel(str(ensure_model_dir("tiny.en")), device="cpu", compute_type="int8", cpu_threads=threads)

    def once() -> float:
        started = time.perf_counter()
        segments, _ = model.transcribe(samples, beam_size=1, word_timestamps=True, vad_filter=True)
        list(segments)
        return time.perf_counter() - started

    once()
    return statistics.median(once() for _ in range(runs))


def stereo_check(path: Any) -> dict[str, Any]:
    from engine.audio import load_recording
    from engine.diarize import Diarizer

    recording = load_recording(path)
    diarizer = Diarizer(device="cpu")
    started = time.perf_counter()
    result = diarizer.diarize(recording, uri=path.stem)
    seconds = time.perf_counter() - started
    return {"file": path.name, "method": result.method, "speakers": result.speakers,
            "speaker_channels": result.speaker_channels, "seconds": round(seconds, 3),
            "rtf": round(seconds / recording.duration, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch and CTranslate2 threads (0: the default)")
    parser.add_argument("--variant", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                        help=f"extra settings to measure; keys: {', '.join(SHORT_KEYS)}")
    parser.add_argument("--no-baseline", action="store_true", help="skip pyannote's default windows (slow)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    import engine.runtime  # noqa: F401  (offline flags before pyannote loads)
    from engine.diarize import read_rttm  # before torch loads: it sets torch's thread wait policy

    data = shared_data_or_exit()
    import torch

    from engine.audio import load_recording

    if args.threads:
        torch.set_num_threads(args.threads)
    recording = load_recording(data / MONO)
    reference = read_rttm(data / REFERENCE)["telephone_2spk"]
    variants: list[tuple[str, dict[str, Any]]] = [("configured", {})]
    if not args.no_baseline:
        variants.append(("pyannote windows", dict(PYANNOTE_WINDOWS)))
    for spec in args.variant:
        settings = {k: _parse_value(v) for k, v in (item.split("=", 1) for item in spec.split(","))}
        variants.append((spec, settings))

    rows = [measure_variant(name, settings, recording, reference, args.runs) for name, settings in variants]
    asr_seconds = transcription_seconds(recording.mono(), args.runs, args.threads)
    report = {"file": MONO, "duration": round(recording.duration, 2), "threads": torch.get_num_threads(),
              "tiny_en_seconds": round(asr_seconds, 3), "tiny_en_rtf": round(asr_seconds / recording.duration, 4),
              "mono": rows, "stereo": stereo_check(data / STEREO)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{MONO}: {report['duration']} s, torch threads {report['threads']}")
    print(f"tiny.en transcription: {asr_seconds:.3f} s (RTF {report['tiny_en_rtf']:.4f})  <- mono diarization budget")
    header = f"{'variant':<22}{'DER c0.5':>9}{'DER c0':>8}{'spk':>4}" + "".join(f"{s[:7]:>9}" for s in STAGES)
    print(header + "   (RTF per stage; total in seconds)")
    for row in rows:
        stages = "".join(f"{row['rtf'][s]:>9.4f}" for s in STAGES)
        verdict = "within budget" if row["seconds"]["total"] <= asr_seconds else "OVER budget"
        print(f"{row['variant'][:21]:<22}{row['der_collar_0.5']:>9.2%}{row['der_no_collar']:>8.2%}"
              f"{row['speakers']:>4}{stages}   {row['seconds']['total']:.3f} s, {verdict}")
    stereo = report["stereo"]
    print(f"stereo {stereo['file']}: {stereo['method']} -> {stereo['speaker_channels']}, "
          f"{stereo['seconds']:.3f} s (RTF {stereo['rtf']:.4f})")


if __name__ == "__main__":
    main()
