"""Per-role trajectories: duration- and confidence-weighted exponential smoothing in call time."""

from __future__ import annotations

from engine.emotion.config import TrajectoryConfig
from engine.emotion.trajectory import smooth, trajectories
from engine.record import Emotion, Turn

CONFIG = TrajectoryConfig(half_life_seconds=10.0, full_weight_seconds=2.0)


def turn(role: str, start: float, end: float, valence: float, arousal: float, label: str = "neutral",
         confidence: float = 0.8) -> Turn:
    return Turn(speaker=f"spk_{role}", role=role, start=start, end=end, text="",  # type: ignore[arg-type]
                emotion=Emotion(label=label, valence=valence, arousal=arousal, confidence=confidence,
                                scores={label: 1.0}))


def test_trajectory_follows_a_sustained_change():
    turns = [turn("customer", 0, 3, 0.0, 0.3), turn("customer", 5, 8, -0.8, 0.9, "angry"),
             turn("customer", 10, 13, -0.8, 0.9, "angry"), turn("customer", 15, 18, -0.8, 0.9, "angry")]
    points = smooth(turns, CONFIG)
    assert [p.time for p in points] == [1.5, 6.5, 11.5, 16.5]
    assert points[0].valence == 0.0
    assert points[1].valence < -0.3 and points[-1].valence < -0.6
    assert [p.arousal for p in points] == sorted(p.arousal for p in points)
    assert points[-1].label == "angry"


def test_a_short_fragment_barely_moves_the_trajectory():
    calm = [turn("customer", 0, 4, 0.1, 0.3), turn("customer", 5, 9, 0.1, 0.3)]
    blip = turn("customer", 10, 10.3, -0.9, 0.95, "angry")
    long = turn("customer", 10, 14, -0.9, 0.95, "angry")
    after_blip = smooth([*calm, blip], CONFIG)[-1]
    after_long = smooth([*calm, long], CONFIG)[-1]
    assert after_blip.valence > -0.2 and after_blip.label == "neutral"
    assert after_long.valence < after_blip.valence - 0.3


def test_an_unsure_judgement_counts_less_and_a_very_unsure_one_not_at_all():
    calm = [turn("agent", 0, 4, 0.2, 0.3)]
    sure = smooth([*calm, turn("agent", 5, 9, -0.8, 0.8, "angry", confidence=0.9)], CONFIG)[-1]
    unsure = smooth([*calm, turn("agent", 5, 9, -0.8, 0.8, "angry", confidence=0.2)], CONFIG)[-1]
    ignored = smooth([*calm, turn("agent", 5, 9, -0.8, 0.8, "angry", confidence=0.01)], CONFIG)
    assert unsure.valence > sure.valence
    assert len(ignored) == 1


def test_the_past_fades_with_the_half_life():
    angry = turn("customer", 0, 4, -0.8, 0.9, "angry")
    soon = smooth([angry, turn("customer", 6, 10, 0.2, 0.3)], CONFIG)[-1]
    later = smooth([angry, turn("customer", 60, 64, 0.2, 0.3)], CONFIG)[-1]
    assert later.valence > soon.valence
    assert later.valence > 0.15


def test_one_trajectory_per_role_and_unjudged_turns_left_out():
    turns = [turn("agent", 0, 3, 0.1, 0.3), turn("customer", 4, 7, -0.5, 0.6, "frustrated"),
             Turn(speaker="spk_agent", role="agent", start=8, end=10, text="")]
    result = trajectories(turns, CONFIG)
    assert set(result) == {"agent", "customer"}
    assert len(result["agent"]) == 1 and len(result["customer"]) == 1
