"""Transcription benchmark: accuracy, speed, memory and the engine's overhead over bare faster-whisper.

    .venv/bin/python -m bench.bench_asr            # both models
    .venv/bin/python -m bench.bench_asr --model tiny.en

Each model runs in its own process, so its peak memory is its own. Figures are CPU figures (int8).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from bench.common import peak_memory_mb, shared_data_or_exit

ENGLISH = ["jfk.flac", "librispeech_1995.wav", "harvard_8k.wav"]
MANDARIN = ["aishell_0121.wav"]
REPEATS = 3


def measure(model_name: str) -> dict[str, object]:
    from faster_whisper import WhisperModel
    from faster_whisper.vad import VadOptions

    from engine.config import load_config
    from engine.evaluation import character_error_rate, word_error_rate
    from engine.pipeline import Engine

    data = shared_data_or_exit() / "asr"
    multilingual = not model_name.endswith(".en")
    overrides = {"asr": {"model": model_name, "language": "auto"}}
    if multilingual:
        overrides["asr"]["multilingual_model"] = model_name
    config = load_config(overrides=overrides)
    engine = Engine(config)
    files = [("en", f) for f in ENGLISH] + ([("zh", f) for f in MANDARIN] if multilingual else [])
    bare = WhisperModel(str(engine.transcriber.settings(model_name).path), device="cpu", compute_type="int8")

    rows = []
    engine_seconds = bare_seconds = audio_seconds = 0.0
    for language, name in files:
        path = data / language / name
        reference = (path.with_suffix(".txt")).read_text(encoding="utf-8")
        engine.run(path, language=language)  # warm-up: model load, VAD session
        timings, hypothesis = [], ""
        for _ in range(REPEATS):
            started = time.perf_counter()
            analysis = engine.run(path, language=language)
            timings.append(time.perf_counter() - started)
            hypothesis = analysis.transcript.text
        # Bare faster-whisper on the same audio with the same options: the engine's overhead is the rest.
        from faster_whisper import decode_audio

        asr = config.asr
        bare_timings = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            audio = decode_audio(str(path))
            segments, _ = bare.transcribe(
                audio, language=language if multilingual else None, beam_size=asr.beam_size,
                word_timestamps=True, vad_filter=asr.vad_filter,
                vad_parameters=VadOptions(min_silence_duration_ms=asr.vad_min_silence_ms),
                no_speech_threshold=asr.no_speech_threshold, log_prob_threshold=asr.log_prob_threshold,
                compression_ratio_threshold=asr.compression_ratio_threshold,
                condition_on_previous_text=asr.condition_on_previous_text, temperature=list(asr.temperatures),
                initial_prompt=asr.zh_initial_prompt if language == "zh" else None,
            )
            list(segments)
            bare_timings.append(time.perf_counter() - started)
        duration = analysis.call.duration
        error = (character_error_rate if language == "zh" else word_error_rate)([reference], [hypothesis])
        t_engine, t_bare = statistics.median(timings), statistics.median(bare_timings)
        engine_seconds, bare_seconds, audio_seconds = (engine_seconds + t_engine, bare_seconds + t_bare,
                                                       audio_seconds + duration)
        rows.append({"file": name, "language": language, "metric": "CER" if language == "zh" else "WER",
                     "error": round(error, 4), "audio_s": round(duration, 1), "engine_s": round(t_engine, 3),
                     "bare_s": round(t_bare, 3), "rtf": round(t_engine / duration, 4)})
    return {
        "model": model_name, "files": rows,
        "rtf": round(engine_seconds / audio_seconds, 4),
        "audio_seconds_per_wall_second": round(audio_seconds / engine_seconds, 1),
        "overhead_pct": round(100 * (engine_seconds - bare_seconds) / bare_seconds, 2),
        "peak_memory_mb": round(peak_memory_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="model name(s); default tiny.en and base")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    shared_data_or_exit()
    for model in args.model or ["tiny.en", "base"]:
        out = subprocess.run([sys.executable, "-m", "bench.bench_asr", "--child", model],
                             check=True, capture_output=True, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(f"\n== {result['model']} (CPU, int8, beam 1) ==")
        print(f"{'file':24} {'metric':6} {'error':>7} {'audio s':>8} {'engine s':>9} {'bare s':>7} {'RTF':>7}")
        for row in result["files"]:
            print(f"{row['file']:24} {row['metric']:6} {row['error']:>7.2%} {row['audio_s']:>8} "
                  f"{row['engine_s']:>9} {row['bare_s']:>7} {row['rtf']:>7}")
        print(f"RTF {result['rtf']}  ({result['audio_seconds_per_wall_second']} audio s per wall s)  "
              f"overhead over bare faster-whisper {result['overhead_pct']:+.1f} %  "
              f"peak memory {result['peak_memory_mb']} MB")


if __name__ == "__main__":
    main()
