"""Start-up benchmark: a whole ``callqa analyze`` of one call against faster-whisper alone, both from cold.

    .venv/bin/python -m bench.bench_startup                    # the stereo and the mono call, once each
    .venv/bin/python -m bench.bench_startup --call stereo --repeats 3
    .venv/bin/python -m bench.bench_startup -c my.yaml         # another configuration, for both sides

Each run is a new Python process (imports, model loads and all), the way a user meets the engine:

- engine: ``callqa analyze CALL -o TMP`` (every stage: intake, ASR, diarization, emotion, scoring);
- bare:   a plain script that imports ``faster_whisper`` alone, decodes the call with its ``decode_audio``
  and transcribes every channel with ``WhisperModel`` directly.

The bare script is called with the engine's own model and decoding options, read from the engine's
resolved ASR configuration and transcriber (``engine_asr_job``), so a change of the engine's ASR
defaults or profile changes both sides. The figures are wall time (what a user waits)
and CPU time (user + system of the child; steadier than wall time on a shared machine). Targets from
issue 15: engine / bare <= 1.5 for the stereo call, <= 2.5 for the mono call (diarization included).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CALLS = {
    "stereo": ("calls/real/lca_49_stereo.wav", 1.5),
    "mono": ("calls/real/deepgram_support_mono.mp3", 2.5),
}

# The bare side: faster-whisper and nothing else. Options arrive as JSON (VadOptions as a dict).
BARE_SCRIPT = """
import json, sys
from faster_whisper import WhisperModel, decode_audio
from faster_whisper.vad import VadOptions
job = json.loads(sys.argv[1])
model = WhisperModel(job["model_path"], device=job["device"], compute_type=job["compute_type"],
                     cpu_threads=job["cpu_threads"])
audio = decode_audio(job["path"], sampling_rate=16000, split_stereo=job["channels"] == 2)
channels = audio if job["channels"] == 2 else [audio]
options = dict(job["options"])
if isinstance(options.get("vad_parameters"), dict):
    options["vad_parameters"] = VadOptions(**options["vad_parameters"])
words = 0
for channel in channels:
    segments, _ = model.transcribe(channel, **options)
    words += sum(len(s.text.split()) for s in segments)
print(json.dumps({"words": words}))
"""


def engine_asr_job(path: Path, config_path: Path | None) -> dict[str, Any]:
    """The model and decoding options the engine uses on this call, as keyword arguments of faster-whisper.

    Read from the engine's own resolved configuration (profile applied) and its transcriber: the model it
    picks for the call's language (detected as the engine detects it), beam search at temperature 0, word
    timestamps, and the same VAD (threshold, minimum silence, padding). The engine decodes its VAD windows
    one by one, so faster-whisper's ``condition_on_previous_text`` is off on the bare side too.
    """
    from engine.audio import load_recording
    from engine.config import load_config
    from engine.pipeline import Engine

    engine = Engine(load_config(config_path))
    asr = engine.config.asr
    recording = load_recording(path, engine.config.audio)
    language = asr.language if asr.language != "auto" else engine.transcriber.detect_language(recording)[0]
    name = engine.transcriber.model_for(language)
    settings = engine.transcriber.settings(name)
    multilingual = not Path(name).name.endswith(".en")
    options = {
        "language": language if multilingual else None, "beam_size": asr.beam_size, "temperature": 0.0,
        "word_timestamps": True, "condition_on_previous_text": False, "vad_filter": asr.vad_filter,
        "vad_parameters": {"threshold": asr.vad_threshold, "min_silence_duration_ms": asr.vad_min_silence_ms,
                           "speech_pad_ms": asr.vad_pad_ms},
        "initial_prompt": asr.zh_initial_prompt if language == "zh" else None,
    }
    return {"path": str(path), "channels": recording.samples.shape[0], "model": name,
            "model_path": str(settings.path), "device": settings.device, "compute_type": settings.compute_type,
            "cpu_threads": settings.cpu_threads, "options": options}


def timed_run(command: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system) of one child process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def measure(call: str, data: Path, repeats: int, config_path: Path | None) -> dict[str, Any]:
    relative, target = CALLS[call]
    path = data / relative
    job = engine_asr_job(path, config_path)
    engine_cmd = [sys.executable, "-c", "from engine.cli import app; app()", "analyze", str(path)]
    if config_path:
        engine_cmd += ["-c", str(config_path)]
    bare_cmd = [sys.executable, "-c", BARE_SCRIPT, json.dumps(job)]
    runs: dict[str, list[tuple[float, float]]] = {"engine": [], "bare": []}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(repeats):  # alternated, so a change in the machine's load hits both sides alike
            wall, cpu, _ = timed_run([*engine_cmd, "-o", out])
            runs["engine"].append((wall, cpu))
            wall, cpu, _ = timed_run(bare_cmd)
            runs["bare"].append((wall, cpu))
    med = {side: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for side, r in runs.items()}
    return {
        "call": call, "file": relative, "model": job["model"], "channels": job["channels"],
        "beam_size": job["options"].get("beam_size"), "repeats": repeats,
        "engine_wall_s": round(med["engine"][0], 1), "bare_wall_s": round(med["bare"][0], 1),
        "engine_cpu_s": round(med["engine"][1], 1), "bare_cpu_s": round(med["bare"][1], 1),
        "wall_ratio": round(med["engine"][0] / med["bare"][0], 2),
        "cpu_ratio": round(med["engine"][1] / med["bare"][1], 2), "target": target,
    }


def main() -> None:
    from bench.common import shared_data_or_exit

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--call", choices=sorted(CALLS), action="append", help="default: both")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("-c", "--config", type=Path, help="YAML over configs/default.yaml, for both sides")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    data = shared_data_or_exit()
    rows = [measure(call, data, args.repeats, args.config) for call in args.call or ["stereo", "mono"]]
    print(f"{'call':7} {'model':8} {'beam':>4} {'engine s':>9} {'bare s':>7} {'ratio':>6} "
          f"{'engine cpu':>10} {'bare cpu':>8} {'ratio':>6} {'target':>6}")
    for r in rows:
        verdict = "ok" if r["wall_ratio"] <= r["target"] else "OVER"
        print(f"{r['call']:7} {r['model']:8} {r['beam_size']!s:>4} {r['engine_wall_s']:>9} {r['bare_wall_s']:>7} "
              f"{r['wall_ratio']:>6} {r['engine_cpu_s']:>10} {r['bare_cpu_s']:>8} {r['cpu_ratio']:>6} "
              f"{r['target']:>6} {verdict}")
    print("wall: what a user waits, from a cold process; cpu: user + system seconds of the child. "
          "Both are noisy on a shared machine: re-run on a quiet one.")
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
