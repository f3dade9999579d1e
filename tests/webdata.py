"""Calls for the web application's tests and benchmark.

``small_store`` fills a store with a handful of hand-built calls (English and Mandarin, an escalation, a
defect with evidence, a transcript that tries to inject a script, a call with no recording time) and a
real WAV file for the player. ``varied_calls`` turns a few real analyses (``callqa analyze`` output) into
many: other agents, teams, days, scores and verdicts, so a store of 10,000 calls looks like months of a
contact centre. ``lengthen`` repeats a real call in time until it is as long as asked (a 14-minute call
for the report page's benchmark).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.record import CallAnalysis, Emotion, TrajectoryPoint, Turn
from engine.store import Store
from engine.store.models import utcnow
from tests.test_store import build_analysis

SCRIPT = "<script>alert(1)</script>"
EVIDENCE_AT = 30.0  # the fatal item's evidence in build_analysis starts here


def write_recording(path: Path, seconds: float = 60.0, rate: int = 8000) -> Path:
    """A quiet tone, long enough for the player to seek into; PCM WAV, which every browser plays."""
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.05 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, subtype="PCM_16")
    return path


def conversation(analysis: CallAnalysis, lines: Sequence[tuple[str, float, float, str, str]]) -> CallAnalysis:
    """``analysis`` with these (role, start, end, text, emotion) turns and both parties' trajectories."""
    values = {"neutral": (0.0, 0.3), "angry": (-0.8, 0.9), "satisfied": (0.6, 0.5), "frustrated": (-0.5, 0.7)}
    turns, trajectories = [], {"agent": [], "customer": []}
    for role, start, end, text, label in lines:
        valence, arousal = values[label]
        turns.append(Turn(speaker="A" if role == "agent" else "B", role=role, start=start, end=end, text=text,
                          emotion=Emotion(label=label, valence=valence, arousal=arousal, confidence=0.8)))
        trajectories[role].append(TrajectoryPoint(time=start, valence=valence, arousal=arousal, label=label))
    return analysis.model_copy(update={"turns": turns, "trajectories": trajectories,
                                       "dynamics": {"agent_talk_ratio": 0.55, "customer_talk_ratio": 0.45,
                                                    "interruptions": 1, "overlaps": 1, "silence_seconds": 9.0,
                                                    "longest_silence": 6.0, "dead_air_seconds": 6.0,
                                                    "agent_talk_seconds": 30.0, "customer_talk_seconds": 25.0}})


def small_store(store: Store, recording: Path) -> dict[str, str]:
    """Six calls on two days (plus one undated and one failed); returns call id -> call key."""
    english = build_analysis("billing-1", agent="ana", team="north", day="2026-11-19", total=42.0, verdict="fail",
                             events=(("escalation", "high"), ("defect.unresolved_escalation", "high")),
                             fatal_failed=True, failed_items=("Offers a solution",),
                             opening="I was charged twice on my bill", source=str(recording))
    english.call.metadata["call_start"] = "2026-11-19T09:12:00"
    english = conversation(english, [
        ("agent", 0.0, 3.0, "Thank you for calling, how can I help?", "neutral"),
        ("customer", 3.4, 9.0, "I was charged twice on my bill and nobody fixes it", "frustrated"),
        ("agent", 8.2, 12.0, "Let me look at that for you", "neutral"),  # starts before the customer ends
        ("customer", 18.0, 24.0, "This is the third time I am calling!", "angry"),  # after 6 s of silence
        ("agent", 30.0, 34.5, "Your balance is four hundred", "neutral"),
        ("customer", 35.0, 40.0, "Fine, thanks", "satisfied"),
    ])
    calm = build_analysis("parcel-2", agent="bo", team="south", day="2026-11-19", total=91.0, verdict="pass",
                          events=(("recovery", "info"),), opening="where is my parcel", source=str(recording))
    calm = conversation(calm, [("agent", 0.0, 2.0, "Hello, parcel service", "neutral"),
                               ("customer", 2.5, 6.0, "Where is my parcel? The delivery is late", "neutral")])
    mandarin = build_analysis("zh-3", agent="chen", team="north", day="2026-11-19", total=77.0, verdict="coach",
                              opening="我的账单多扣了钱", source=str(recording))
    mandarin = conversation(mandarin, [("agent", 0.0, 2.0, "您好，请问有什么可以帮您？", "neutral"),
                                       ("customer", 2.5, 6.0, "我的账单多扣了钱", "frustrated")])
    mandarin.transcript.language = "zh"
    hostile = build_analysis("inject-4", agent=f"eve{SCRIPT}", team="south", day="2026-11-19", total=65.0,
                             verdict="coach", opening=SCRIPT, source=str(recording))
    hostile = conversation(hostile, [("agent", 0.0, 2.0, "Hello", "neutral"),
                                     ("customer", 2.5, 6.0, f"my name is {SCRIPT}", "neutral")])
    earlier = build_analysis("older-5", agent="ana", team="north", day="2026-11-18", total=88.0, verdict="pass",
                             source=str(recording))
    undated = build_analysis("undated-6", agent="bo", team="south", total=70.0, verdict="coach",
                             metadata={"agent_id": "bo", "team": "south"}, source="/nowhere/undated-6.wav")
    keys = {}
    for analysis in (english, calm, mandarin, hostile, earlier, undated):
        store.save_analysis(analysis)
        keys[analysis.call.call_id] = f"{analysis.call.content_hash}:{analysis.config_hash}"
    store.save_failure("/calls/broken-7.wav", "b" * 64, "cfg1", "corrupt", "cannot be decoded",
                       {"agent_id": "bo", "team": "south", "call_start": "2026-11-19T11:00:00"})
    return keys


def _verdict(total: float) -> str:
    return "pass" if total >= 80 else "coach" if total >= 60 else "fail"


def varied_calls(bases: Sequence[CallAnalysis], n: int, first_day: date, days: int, agents: int = 40,
                 seed: int = 0) -> Iterator[CallAnalysis]:
    """``n`` calls made from ``bases``: each a base with another id, recording, agent, team, day, score."""
    rng = random.Random(seed)
    raw = [json.loads(b.to_json()) for b in bases]
    teams = ["north", "south", "east", "west"]
    for i in range(n):
        data = json.loads(json.dumps(raw[i % len(raw)]))  # a fresh copy to change
        agent = rng.randrange(agents)
        day = first_day + timedelta(days=rng.randrange(days))
        info = data["call"]
        info["call_id"] = f"{info['call_id']}-{i:05d}"
        info["content_hash"] = hashlib.sha256(f"{info['content_hash']}/{i}".encode()).hexdigest()
        info["metadata"] = {"agent_id": f"agent{agent:02d}", "team": teams[agent % len(teams)],
                            "call_start": f"{day.isoformat()}T{8 + rng.randrange(10):02d}:{rng.randrange(60):02d}:00"}
        card = data.get("scorecard")
        if card:
            for item in card["items"]:
                if rng.random() < 0.15:  # some items go the other way, so each agent fails different things
                    item["passed"] = not item["passed"]
                    item["score"] = item["max_score"] if item["passed"] else 0.0
            card["total"] = round(min(100.0, max(0.0, card["total"] + rng.gauss(0, 15))), 1)
            card["verdict"] = _verdict(card["total"])
        yield CallAnalysis.model_validate(data)


def lengthen(analysis: CallAnalysis, seconds: float, call_start: str | None = None) -> CallAnalysis:
    """The call repeated in time until it lasts ``seconds``: its turns, words, trajectories and events."""
    data = json.loads(analysis.to_json())
    period = analysis.call.duration
    copies = max(1, int(np.ceil(seconds / period)))

    def shifted(items: list[dict], k: int, keys: tuple[str, ...]) -> list[dict]:
        out = []
        for item in items:
            moved = json.loads(json.dumps(item))
            for key in keys:
                moved[key] = round(moved[key] + k * period, 3)
            for ev in moved.get("evidence", []):
                ev["start"], ev["end"] = round(ev["start"] + k * period, 3), round(ev["end"] + k * period, 3)
            out.append(moved)
        return [o for o in out if o[keys[0]] < seconds]

    words = data["transcript"]["words"]
    turns = []
    for k in range(copies):
        for turn in shifted(data["turns"], k, ("start", "end")):
            turn["word_indices"] = [i + k * len(words) for i in turn["word_indices"]]
            turns.append(turn)
    data["transcript"]["words"] = [w for k in range(copies) for w in shifted(words, k, ("start", "end"))]
    data["transcript"]["segments"] = [s for k in range(copies)
                                      for s in shifted(data["transcript"]["segments"], k, ("start", "end"))]
    data["turns"] = turns
    data["events"] = [e for k in range(copies) for e in shifted(data["events"], k, ("start", "end"))]
    data["trajectories"] = {role: [p for k in range(copies) for p in shifted(points, k, ("time",))]
                            for role, points in data["trajectories"].items()}
    data["call"]["duration"] = seconds
    data["call"]["call_id"] = f"{analysis.call.call_id}-{int(seconds // 60)}min"
    data["call"]["content_hash"] = hashlib.sha256(f"{analysis.call.content_hash}/{seconds}".encode()).hexdigest()
    start = call_start or utcnow().isoformat(timespec="seconds")
    data["call"]["metadata"] = {**data["call"]["metadata"], "call_start": start}
    return CallAnalysis.model_validate(data)
