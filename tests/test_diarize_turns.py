"""Words to speakers, and speakers' words to turns."""

from __future__ import annotations

import pytest
from pyannote.core import Annotation, Segment

from engine.diarize.config import DiarizeConfig, DynamicsSettings, TurnSettings
from engine.diarize.cues import load_cues
from engine.diarize.diarizer import exclusive_of
from engine.diarize.dynamics import backchannel_test
from engine.diarize.turns import assign_by_channel, assign_by_overlap, build_turns
from engine.record import Word

SETTINGS = TurnSettings()
IS_BACKCHANNEL = backchannel_test(load_cues(DiarizeConfig().roles.cue_files), DynamicsSettings())


def word(text: str, start: float, end: float, channel: int = 0) -> Word:
    return Word(text=text, start=start, end=end, probability=0.9, channel=channel)


def speech(*stretches: tuple[str, float, float]) -> Annotation:
    annotation = Annotation(uri="call")
    for index, (label, start, end) in enumerate(stretches):
        annotation[Segment(start, end), index] = label
    return annotation


def test_word_straddling_a_change_of_speaker_goes_to_the_speaker_who_said_most_of_it() -> None:
    who = speech(("A", 0.0, 2.05), ("B", 2.05, 4.0))
    words = [word("thanks", 1.5, 2.0), word("for", 2.0, 2.4), word("sure", 1.7, 2.1)]
    assert assign_by_overlap(words, who, who, SETTINGS) == ["A", "B", "A"]


def test_words_during_overlap_are_kept_and_the_change_is_put_at_the_longest_pause() -> None:
    # A talks until 5.0, B from 4.0: 4.0-5.0 is overlap. "and" (4.1) follows a long pause after A's
    # last clear word and runs straight into B's words: B said it. "world" (4.3-4.6) runs on from A.
    who = speech(("A", 0.0, 5.0), ("B", 4.0, 8.0))
    words = [word("hello", 3.0, 3.5), word("and", 4.1, 4.4), word("I'm", 4.4, 4.8), word("calling", 5.2, 5.6)]
    speakers = assign_by_overlap(words, exclusive_of(who), who, SETTINGS)
    assert speakers == ["A", "B", "B", "B"]
    words = [word("hello", 3.0, 3.9), word("world", 3.9, 4.6), word("so", 5.3, 5.5), word("what", 5.5, 5.8)]
    assert assign_by_overlap(words, exclusive_of(who), who, SETTINGS) == ["A", "A", "B", "B"]


def test_word_outside_any_speech_goes_to_the_nearest_speaker_or_the_one_before() -> None:
    who = speech(("A", 0.0, 2.0), ("B", 5.0, 7.0))
    words = [word("yes", 2.2, 2.4), word("um", 3.4, 3.5), word("so", 4.7, 4.9)]
    assert assign_by_overlap(words, who, who, SETTINGS) == ["A", "A", "B"]


def test_turn_is_split_at_a_long_pause() -> None:
    words = [word("hello", 0.0, 0.5), word("there", 0.6, 1.0), word("anyone", 3.5, 4.0)]
    turns = build_turns(words, ["A", "A", "A"], SETTINGS, IS_BACKCHANNEL)
    assert [t.text for t in turns] == ["hello there", "anyone"]
    longer = build_turns(words, ["A", "A", "A"], TurnSettings(pause_split_seconds=3.0), IS_BACKCHANNEL)
    assert [t.text for t in longer] == ["hello there anyone"]


def test_backchannel_in_the_agent_pause_does_not_split_the_agent_turn() -> None:
    words = [word("I", 0.0, 0.2), word("reset", 0.2, 0.6), word("it", 0.6, 0.8), word("mm-hmm", 1.0, 1.3, 1),
             word("and", 1.4, 1.6), word("updated", 1.6, 2.0)]
    turns = build_turns(words, ["A", "A", "A", "C", "A", "A"], SETTINGS, IS_BACKCHANNEL)
    assert [(t.speaker, t.text) for t in turns] == [("A", "I reset it and updated"), ("C", "mm-hmm")]
    assert turns[0].word_indices == [0, 1, 2, 4, 5]


def test_other_speaker_taking_the_floor_in_a_short_gap_splits_the_turn() -> None:
    words = [word("is", 0.0, 0.2), word("that", 0.2, 0.5), word("no", 0.7, 0.9, 1), word("wait", 0.9, 1.1, 1),
             word("sorry", 1.2, 1.5)]
    turns = build_turns(words, ["A", "A", "C", "C", "A"], SETTINGS, IS_BACKCHANNEL)
    assert [(t.speaker, t.text) for t in turns] == [("A", "is that"), ("C", "no wait"), ("A", "sorry")]


def test_overlapping_speech_keeps_both_speakers_words_in_their_own_turns() -> None:
    words = [word("let", 0.0, 0.3), word("me", 0.3, 0.5), word("explain", 0.5, 1.0), word("the", 1.0, 1.2),
             word("I", 0.6, 0.8, 1), word("know", 0.8, 1.1, 1), word("already", 1.1, 1.5, 1)]
    turns = build_turns(words, ["A"] * 4 + ["C"] * 3, SETTINGS, IS_BACKCHANNEL, channels={"A": 0, "C": 1})
    assert [(t.speaker, t.text, t.channel) for t in turns] == [("A", "let me explain the", 0),
                                                              ("C", "I know already", 1)]


def test_mandarin_turn_text_has_no_spaces_between_characters() -> None:
    words = [word("您好", 0.0, 0.4), word("请问", 0.4, 0.8), word("有什么", 0.8, 1.2), word("OK", 1.2, 1.4)]
    [turn] = build_turns(words, ["A"] * 4, SETTINGS, IS_BACKCHANNEL)
    assert turn.text == "您好请问有什么 OK"


def test_stereo_word_heard_only_as_bleed_of_the_other_channel_is_left_out_of_turns() -> None:
    who = speech(("channel_0", 0.0, 3.0), ("channel_1", 4.0, 6.0))
    channels = {"channel_0": 0, "channel_1": 1}
    words = [word("hello", 0.5, 1.0, 0), word("hello", 0.5, 1.0, 1), word("hi", 4.2, 4.5, 1)]
    assignment = assign_by_channel(words, who, channels)
    assert assignment.speakers == ["channel_0", "channel_1", "channel_1"]
    assert assignment.bleed == {1}
    turns = build_turns(words, assignment.speakers, SETTINGS, IS_BACKCHANNEL, skip=assignment.bleed,
                        channels=channels)
    assert [(t.speaker, t.text) for t in turns] == [("channel_0", "hello"), ("channel_1", "hi")]


def test_exclusive_speech_gives_an_overlap_to_the_speaker_who_held_the_floor() -> None:
    who = speech(("A", 0.0, 5.0), ("B", 4.0, 8.0))
    exclusive = exclusive_of(who)
    assert exclusive.get_overlap().duration() == 0
    assert exclusive.label_duration("A") == pytest.approx(5.0)
    assert exclusive.label_duration("B") == pytest.approx(3.0)
