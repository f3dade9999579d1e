"""Scoring cost against a call's processing time: the scoring stage must add under 1 %.

    .venv/bin/python -m bench.bench_score

A constructed 10-minute call of ~200 turns (the clean test call's lines, repeated with their timings,
a few overlaps, a hold, a dead-air gap, per-turn emotions) is scored on each default standard, English
and Mandarin. The denominator is transcription alone at 0.06 × the call's duration (faster-whisper
tiny.en int8 on CPU, the engine's fastest stage measured in bench_asr) — a lower bound of a call's
total processing time, so the percentage printed is an upper bound of scoring's share.
"""

from __future__ import annotations

import json
import statistics
import time

from engine.record import CallAnalysis, CallInfo, Emotion, Transcript, Turn
from engine.score import load_standard, score_call

DURATION = 600.0
TURNS = 200
ASR_SECONDS_PER_AUDIO_SECOND = 0.06
REPEATS = 7


def constructed_call(language: str) -> CallAnalysis:
    from tests.callbuilder import CLEAN

    lines = CLEAN[language]
    turns: list[Turn] = []
    at = 0.5
    step = DURATION / TURNS
    for k in range(TURNS):
        line = lines[k % len(lines)]
        channel = 0 if line.role == "agent" else 1
        start = at + (0.8 if k == 120 else 0.0)
        end = start + step * (0.85 if k % 17 else 1.1)  # every 17th turn runs into the next: overlap
        label, valence = ("angry", -0.8) if k % 50 == 7 else ("neutral", 0.0)
        turns.append(Turn(speaker=f"channel_{channel}", role=line.role, start=round(start, 2), end=round(end, 2),
                          text=line.text, channel=channel,
                          emotion=Emotion(label=label, valence=valence, arousal=0.5, confidence=0.9)))
        at += step + (8.0 if k == 90 else 0.0)  # one dead-air gap
    info = CallInfo(call_id=f"bench_{language}", source="constructed", content_hash="0", duration=at + 1,
                    sample_rate=16000, channels=2, source_channels=2)
    return CallAnalysis(call=info, transcript=Transcript(language=language, language_probability=1.0, model="-"),
                        turns=turns)


def measure() -> list[dict[str, object]]:
    rows = []
    for language in ("en", "zh"):
        call = constructed_call(language)
        for name in ("five_point", "qa_checklist"):
            standard = load_standard(name)
            score_call(call.model_copy(deep=True), standard)  # warm-up: phrase files, OpenCC, imports
            times = []
            for _ in range(REPEATS):
                analysis = call.model_copy(deep=True)
                started = time.perf_counter()
                score_call(analysis, standard)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            denominator = ASR_SECONDS_PER_AUDIO_SECOND * call.call.duration
            rows.append({"language": language, "standard": name, "turns": len(call.turns),
                         "call_seconds": round(call.call.duration, 1), "score_seconds": round(seconds, 4),
                         "transcription_seconds": round(denominator, 1),
                         "share_percent": round(100 * seconds / denominator, 3),
                         "defects": sum(e.kind.startswith("defect.") for e in analysis.events)})
    return rows


def main() -> None:
    rows = measure()
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    worst = max(r["share_percent"] for r in rows)
    print(f"scoring adds at most {worst:.3f} % of transcription time alone (target < 1 %)")


if __name__ == "__main__":
    main()
