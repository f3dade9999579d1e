"""Fusion of text, voice and SER opinions into one emotion per turn (no models: opinions are given)."""

from __future__ import annotations

import pytest

from engine.emotion.config import EmotionConfig
from engine.emotion.fusion import SerSignal, TextSignal, VoiceSignal, fuse, label_for_point

CONFIG = EmotionConfig()
LABELS = ("angry", "frustrated", "anxious", "sad", "neutral", "satisfied")
VOICE_LABELS = ("neutral", "happy", "sad", "angry", "fear", "surprise")


def text(label: str, p: float = 0.8, valence: float | None = None, words: int = 10) -> TextSignal:
    rest = (1 - p) / (len(LABELS) - 1)
    scores = {k: (p if k == label else rest) for k in LABELS}
    return TextSignal(scores=scores, valence=CONFIG.text.label_valence[label] if valence is None else valence,
                      words=words)


def voice(label: str, p: float = 0.8, arousal: float = 0.5, mode: str = "speaker") -> VoiceSignal:
    rest = (1 - p) / (len(VOICE_LABELS) - 1)
    return VoiceSignal(scores={k: (p if k == label else rest) for k in VOICE_LABELS}, arousal=arousal, mode=mode)


def run(t: TextSignal | None, v: VoiceSignal | None, s: SerSignal | None = None, duration: float = 3.0):
    return fuse(t, v, s, duration, CONFIG.fusion, CONFIG.voice, CONFIG.text.label_valence)


def test_negative_words_with_high_arousal_read_angry():
    # The words say "frustrated"; a shouting voice (only half sure it is anger) makes it anger.
    emotion = run(text("frustrated"), voice("angry", 0.5, arousal=0.9))
    assert emotion.label == "angry"
    assert emotion.valence < -0.3 and emotion.arousal > 0.7


def test_negative_words_with_low_arousal_read_frustrated_or_sad():
    emotion = run(text("frustrated"), voice("neutral", 0.6, arousal=0.15))
    assert emotion.label in {"frustrated", "sad"}
    assert emotion.arousal < 0.35


def test_angry_voice_with_neutral_words_needs_a_confident_voice():
    unsure = run(text("neutral", 0.9), voice("angry", 0.55, arousal=0.8))
    sure = run(text("neutral", 0.9, words=2), voice("angry", 0.95, arousal=0.95))
    assert unsure.label != "angry"
    assert sure.label == "angry"


def test_voice_alone_decides_when_there_are_no_words():
    emotion = run(None, voice("angry", 0.85, arousal=0.9))
    assert emotion.label == "angry"
    assert emotion.valence < -0.4
    assert set(emotion.signals) == {"voice"}


def test_a_voice_as_usual_does_not_argue_with_negative_words():
    # "neutral" from the voice (read against the speaker's usual) means "as usual": the words decide the label.
    emotion = run(text("frustrated"), voice("neutral", 0.9, arousal=0.3))
    assert emotion.label == "frustrated"
    assert emotion.signals["voice"]["label_weight"] < 0.2 * emotion.signals["voice"]["weight"]


def test_one_word_turn_stays_neutral_unless_the_words_are_explicit():
    okay = run(text("angry", 0.7, valence=-0.6, words=1), voice("neutral", 0.7, arousal=0.35), duration=0.6)
    assert okay.label == "neutral" and okay.confidence < 0.5


def test_negative_label_without_the_sound_agreeing_is_less_confident():
    agree = run(text("angry", 0.9), voice("angry", 0.9, arousal=0.9))
    alone = run(text("angry", 0.9), voice("happy", 0.9, arousal=0.3))
    assert agree.label == "angry" and alone.confidence < agree.confidence * 0.8


def test_valence_follows_the_words_and_arousal_the_voice():
    emotion = run(text("satisfied", 0.9), voice("sad", 0.6, arousal=0.2))
    assert emotion.valence > 0.3
    assert emotion.arousal < 0.35


def test_each_signal_is_recorded_with_its_weight_and_opinion():
    emotion = run(text("angry"), voice("angry", arousal=0.9), SerSignal({"angry": 0.7, "neutral": 0.3}))
    assert set(emotion.signals) == {"text", "voice", "ser"}
    assert emotion.signals["text"]["label"] == "angry"
    assert emotion.signals["voice"]["arousal"] == pytest.approx(0.9)
    assert emotion.signals["voice"]["mode"] == "speaker"
    assert all(float(s["weight"]) > 0 for s in emotion.signals.values())
    assert sum(emotion.scores.values()) == pytest.approx(1.0, abs=1e-3)


def test_short_turns_and_few_words_give_low_confidence():
    long = run(text("angry", words=12), voice("angry", arousal=0.9), duration=4.0)
    short = run(text("angry", words=1), voice("angry", arousal=0.9), duration=0.3)
    assert short.confidence < long.confidence


def test_voice_without_a_speaker_baseline_counts_less():
    speaker = run(text("neutral", 0.6), voice("sad", 0.9, arousal=0.1))
    clip = run(text("neutral", 0.6), voice("sad", 0.9, arousal=0.1, mode="clip"))
    assert clip.signals["voice"]["weight"] < speaker.signals["voice"]["weight"]


def test_no_signal_at_all_is_neutral_with_no_confidence():
    emotion = run(None, None)
    assert emotion.label == "neutral" and emotion.confidence == 0.0 and emotion.valence == 0.0


def test_garbled_transcript_weighs_the_words_less():
    clean = TextSignal(scores=text("angry").scores, valence=-0.8, words=10, asr_confidence=0.95)
    garbled = TextSignal(scores=text("angry").scores, valence=-0.8, words=10, asr_confidence=0.3)
    v = voice("neutral", 0.8, arousal=0.3)
    assert run(garbled, v).valence > run(clean, v).valence


def test_trajectory_point_labels_come_from_the_nearest_prototype():
    assert label_for_point(-0.8, 0.9, CONFIG.fusion) == "angry"
    assert label_for_point(0.0, 0.3, CONFIG.fusion) == "neutral"
    assert label_for_point(0.7, 0.45, CONFIG.fusion) == "satisfied"


def test_explicitly_hostile_short_words_count_in_full():
    words = text("frustrated", 0.6, valence=-0.6, words=3)
    plain = run(words, voice("neutral", 0.6, arousal=0.4), duration=1.5)
    explicit = run(TextSignal(words.scores, words.valence, words.words, explicit=True),
                   voice("neutral", 0.6, arousal=0.4), duration=1.5)
    assert explicit.signals["text"]["weight"] > plain.signals["text"]["weight"]
    assert explicit.label == "frustrated" and explicit.confidence > plain.confidence


def test_explicit_hostility_with_a_low_sad_voice_is_frustration_not_sadness():
    # "什么？太过分了，真不像话！" in a synthetic voice with no anger in it: the words are hostile, the voice
    # low and a little sad. Without the hostility flag the point lands on sadness; with it, frustration.
    scores = {"angry": 0.26, "frustrated": 0.34, "sad": 0.23, "anxious": 0.02, "neutral": 0.11, "satisfied": 0.04}
    low_sad_voice = voice("sad", 0.5, arousal=0.2)
    plain = run(TextSignal(scores, -0.65, 8), low_sad_voice)
    hostile = run(TextSignal(scores, -0.65, 8, explicit=True), low_sad_voice)
    assert plain.label == "sad"
    assert hostile.label in CONFIG.fusion.hostile_labels and hostile.confidence > 0
    # The rule names a label; it does not invent a valence or arousal the signals did not give.
    assert (hostile.valence, hostile.arousal) == (plain.valence, plain.arousal)


# --- the voice read against the speaker's usual voice, and the population's (calibration) ---------------------

def test_a_caller_angry_in_most_turns_is_heard_against_the_populations_usual_voice():
    from engine.emotion.calibration import relative_to_speakers

    calm = {"neutral": 0.6, "happy": 0.1, "sad": 0.1, "angry": 0.08, "fear": 0.06, "surprise": 0.06}
    turns = [voice("angry", 0.7), voice("angry", 0.7), voice("angry", 0.7), VoiceSignal(calm, 0.3)]
    own_only = relative_to_speakers(turns, ["C"] * 4, [3.0] * 4, CONFIG.calibration)
    assert own_only[0].label == "neutral"  # anger is this caller's usual: it divides itself out
    config = CONFIG.calibration.model_copy(update={"population_usual": {"en": calm}, "population_weight": 0.5})
    heard = relative_to_speakers(turns, ["C"] * 4, [3.0] * 4, config, language="en-US")
    assert heard[0].label == "angry" and heard[3].label == "neutral"
    assert relative_to_speakers(turns, ["C"] * 4, [3.0] * 4, config, language="zh")[0].label == "neutral"
    with pytest.raises(ValueError):
        type(config).model_validate({"population_usual": {"en": {"angry": 0.0}}})
