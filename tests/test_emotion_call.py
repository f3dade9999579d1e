"""The emotion stage on calls built from real acted clips (CASIA), and the agent baseline store.

The built call: agent on channel 0 (wangzhe, neutral clips), customer on channel 1 (liuchanhg:
neutral, angry, angry, neutral), turns taken from the known clip times, no words (CASIA says the same
neutral sentence in every emotion), so the voice decides. The voice head was fitted on CASIA too: this
pins the stage's plumbing and event logic on real audio, not the head's accuracy on unseen voices.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.emotion.baselines import AgentBaselineStore, layout_of
from engine.emotion.voice import SpeakerBaseline
from engine.record import CallAnalysis, Transcript, Turn

SAMPLE_RATE = 16000


def test_agent_baseline_store_merges_calls_and_ignores_another_layout(tmp_path):
    rng = np.random.default_rng(0)
    store = AgentBaselineStore(tmp_path / "agents", max_utterances=50)
    first, second = rng.normal(1.0, 2.0, (30, 4)), rng.normal(1.0, 2.0, (40, 4))
    store.update("agent/7", "base|x:4", SpeakerBaseline.from_vectors(first))
    merged = store.update("agent/7", "base|x:4", SpeakerBaseline.from_vectors(second))
    everything = SpeakerBaseline.from_vectors(np.vstack([first, second]))
    assert np.allclose(merged.mean, everything.mean)
    assert np.allclose(merged.std, everything.std, rtol=0.02)  # down-weighted past 50 utterances, spread kept
    assert merged.count == 50
    stored = store.get("agent/7", "base|x:4")
    assert stored is not None and np.allclose(stored.mean, everything.mean)
    assert store.get("agent/7", "other-head|x:4") is None
    assert store.get("agent/8", "base|x:4") is None
    assert store.path("agent/7").parent == tmp_path / "agents"


def _head_path() -> Path:
    from engine.emotion.voice.head import DEFAULT_HEAD

    path = Path(os.environ.get("CALLQA_VOICE_HEAD") or DEFAULT_HEAD)
    if not path.exists():
        pytest.skip(f"no fitted voice head at {path} (fit one with scripts/fit_voice_emotion.py)")
    return path


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory):
    from engine.config import RuntimeConfig
    from engine.emotion.config import BaselineConfig, EmotionConfig, VoiceConfig
    from engine.emotion.stage import EmotionAnalyzer

    store = tmp_path_factory.mktemp("agent_baselines")
    config = EmotionConfig(voice=VoiceConfig(head=str(_head_path())), baseline=BaselineConfig(agent_store=str(store)))
    return EmotionAnalyzer(config, RuntimeConfig(device="cpu"))


def test_each_call_language_gets_the_head_fitted_for_it(tmp_path):
    from engine.config import RuntimeConfig
    from engine.emotion.config import EmotionConfig, VoiceConfig
    from engine.emotion.stage import EmotionAnalyzer
    from engine.emotion.voice.head import DEFAULT_HEAD, shipped_head

    english = shipped_head("en")
    if english == DEFAULT_HEAD or not DEFAULT_HEAD.exists():
        pytest.skip("the English and multilingual voice heads are not both shipped")
    shipped = EmotionAnalyzer(EmotionConfig(), RuntimeConfig(device="cpu"))
    en, zh = shipped.voice_for("en"), shipped.voice_for("zh")
    assert en is not None and zh is not None
    assert (en[0].encoder, zh[0].encoder) == ("tiny.en", "base")
    assert shipped.voice_for("fr") is zh  # any other language: the multilingual head, loaded once
    assert shipped.voice_for("en-US") is en
    assert en[1].encoder.config.layers == en[0].encoder_layers  # the extractor makes the head's vectors

    configured = EmotionAnalyzer(EmotionConfig(voice=VoiceConfig(heads={"zh": str(english)})), RuntimeConfig())
    assert configured.voice_for("zh")[0].encoder == "tiny.en"
    assert EmotionAnalyzer(EmotionConfig(voice=VoiceConfig(enabled=False)), RuntimeConfig()).voice_for("en") is None


def build(casia: Path, plan: list[tuple[str, str, str, int]], path: Path) -> tuple[Path, list[Turn]]:
    """Clips placed one after another with 0.5 s gaps; agent left, customer right; turns at the clip times."""
    from engine.emotion.voice.features import load_clip

    placed, t = [], 0.5
    for role, speaker, emotion, number in plan:
        audio = load_clip(casia / f"{speaker}-{emotion}-{number}.flac")
        placed.append((role, t, audio))
        t += len(audio) / SAMPLE_RATE + 0.5
    samples = np.zeros((int((t + 0.5) * SAMPLE_RATE), 2), np.float32)
    turns = []
    for role, start, audio in placed:
        channel = 0 if role == "agent" else 1
        first = round(start * SAMPLE_RATE)
        samples[first:first + len(audio), channel] = audio
        turns.append(Turn(speaker=f"channel_{channel}", role=role, start=first / SAMPLE_RATE,  # type: ignore[arg-type]
                          end=(first + len(audio)) / SAMPLE_RATE, text="", channel=channel))
    sf.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
    return path, turns


def analyse(analyzer, path: Path, turns: list[Turn], agent_id: str | None = None) -> CallAnalysis:
    from engine.audio import load_recording

    recording = load_recording(path)
    info = recording.info.model_copy(update={"metadata": {"agent_id": agent_id} if agent_id else {}})
    analysis = CallAnalysis(call=info, turns=turns,
                            transcript=Transcript(language="zh", language_probability=1.0, model="script"))
    return analyzer.run(analysis, recording)


def plan(customer: list[str]) -> list[tuple[str, str, str, int]]:
    rows = []
    for k, emotion in enumerate(customer):
        rows.append(("agent", "wangzhe", "neutral", 201 + 2 * k))
        rows.append(("customer", "liuchanhg", emotion, 202 + 2 * k))
    return [*rows, ("agent", "wangzhe", "neutral", 201 + 2 * len(customer))]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="open (issue 14): the voice is read against the caller's usual voice in the "
                   "call; with two of this caller's four turns angry (voice only, no words), anger is half their "
                   "usual, the first angry turn is not read negative and the calming falls under the de-escalation "
                   "thresholds (docs/emotion_calls.md, what is left)")
def test_built_call_rising_to_anger_and_calming_has_escalation_and_de_escalation(shared_data, analyzer, tmp_path):
    path, turns = build(shared_data / "emotion" / "casia_dev", plan(["neutral", "angry", "angry", "neutral"]),
                        tmp_path / "escalating.wav")
    analysis = analyse(analyzer, path, turns, agent_id="agent-1")
    customer = [t for t in analysis.turns if t.role == "customer"]
    agent = [t for t in analysis.turns if t.role == "agent"]
    assert all(t.emotion is not None and "voice" in t.emotion.signals for t in analysis.turns)

    escalations = [e for e in analysis.events if e.kind == "escalation"]
    assert len(escalations) == 1
    assert [ev.start for ev in escalations[0].evidence] == [customer[1].start, customer[2].start]
    assert escalations[0].severity in {"medium", "high"}
    calmed = [e for e in analysis.events if e.kind == "de_escalation"]
    assert len(calmed) == 1
    turning_point = agent[3]  # the agent's turn between the second angry turn and the calm one
    assert (calmed[0].evidence[0].start, calmed[0].evidence[0].speaker) == (turning_point.start, "channel_0")
    assert calmed[0].evidence[1].start == customer[3].start
    assert not [e for e in analysis.events if e.kind == "agent_deterioration"]

    # Trajectories: the customer's arousal climbs to the angry turns and falls after; the agent stays level.
    trace = analysis.trajectories["customer"]
    assert len(trace) == 4 and len(analysis.trajectories["agent"]) == 5
    assert max(trace[1].arousal, trace[2].arousal) > trace[0].arousal + 0.3
    assert trace[3].arousal < max(trace[1].arousal, trace[2].arousal)
    assert min(p.valence for p in trace) == min(trace[1].valence, trace[2].valence)
    assert all(p.label == "neutral" for p in analysis.trajectories["agent"])
    # The agent's calm turns were kept for their next call.
    assert analyzer.store.get("agent-1", layout_of(analyzer.voice_for("zh")[0])) is not None


@pytest.mark.slow
def test_built_all_calm_call_has_no_emotion_events(shared_data, analyzer, tmp_path):
    path, turns = build(shared_data / "emotion" / "casia_dev", plan(["neutral"] * 4), tmp_path / "calm.wav")
    analysis = analyse(analyzer, path, turns)
    assert [e.kind for e in analysis.events] == []
    assert all(p.label == "neutral" for p in analysis.trajectories["customer"])
