"""Voice (acoustic) emotion: baselines, pooling, prosody invariances, the head's storage and scoring."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from engine.emotion.voice import (
    LABELS,
    ChannelFrames,
    EncoderConfig,
    EncoderFeatures,
    PopulationBaseline,
    SpeakerBaseline,
    VoiceEmotionModel,
    VoiceFeatures,
)
from engine.emotion.voice.baseline import zscore
from engine.emotion.voice.evaluation import score_speakers
from engine.emotion.voice.head import DEFAULT_HEAD
from engine.emotion.voice.prosody import feature_names, prosody_vector
from engine.emotion.voice.training import ClipSet, FitOptions, fit_voice_model, read_manifest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SR = 16000


# ---- baselines ------------------------------------------------------------------------------------
def test_running_baseline_matches_batch_mean_and_sample_std() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(40, 5))
    baseline = SpeakerBaseline(dim=5)
    for row in x:
        baseline.update(row)
    assert baseline.count == 40
    np.testing.assert_allclose(baseline.mean, x.mean(axis=0))
    np.testing.assert_allclose(baseline.std, x.std(axis=0, ddof=1))


def test_baseline_skips_undefined_measures_per_dimension() -> None:
    x = np.array([[1.0, np.nan], [3.0, 4.0], [5.0, 8.0]])
    baseline = SpeakerBaseline.from_vectors(x)
    np.testing.assert_allclose(baseline.counts, [3, 2])
    np.testing.assert_allclose(baseline.mean, [3.0, 6.0])


def test_merging_two_calls_equals_one_baseline_of_both() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(7, 3)), rng.normal(1.0, 3.0, size=(12, 3))
    merged = SpeakerBaseline.from_vectors(a).merge(SpeakerBaseline.from_vectors(b))
    whole = SpeakerBaseline.from_vectors(np.vstack([a, b]))
    np.testing.assert_allclose(merged.mean, whole.mean)
    np.testing.assert_allclose(merged.std, whole.std)


def test_agent_baseline_survives_json_round_trip() -> None:
    baseline = SpeakerBaseline.from_vectors(np.arange(12.0).reshape(4, 3), speaker="agent-7")
    again = SpeakerBaseline.from_json(baseline.to_json())
    assert again.speaker == "agent-7" and again.count == 4
    np.testing.assert_allclose(again.std, baseline.std)
    with pytest.raises(ValueError):
        SpeakerBaseline.from_json(json.dumps({"kind": "something else"}))


def test_few_utterances_are_shrunk_toward_the_language_population() -> None:
    population = PopulationBaseline(mean=np.zeros(2), std=np.full(2, 4.0), within_std=np.full(2, 2.0), speakers=10)
    none = SpeakerBaseline(dim=2)
    mean, std = none.shrunk_toward(population, strength=10)
    np.testing.assert_allclose(mean, 0.0)
    np.testing.assert_allclose(std, 2.0)  # the within-speaker spread, not the total
    many = SpeakerBaseline.from_vectors(np.random.default_rng(2).normal(5.0, 1.0, size=(10_000, 2)))
    mean, std = many.shrunk_toward(population, strength=10)
    np.testing.assert_allclose(mean, 5.0, atol=0.05)
    np.testing.assert_allclose(std, 1.0, atol=0.05)


def test_a_voice_unlike_the_population_keeps_its_own_mean_but_not_its_narrow_spread() -> None:
    # between-speaker spread sqrt(4² - 2²) ≈ 3.5: a speaker 1 away is typical, one 40 away is not a
    # population member at all (another channel, a synthetic voice)
    population = PopulationBaseline(mean=np.zeros(2), std=np.full(2, 4.0), within_std=np.full(2, 2.0), speakers=10)
    rng = np.random.default_rng(3)
    typical = SpeakerBaseline.from_vectors(rng.normal(1.0, 0.2, size=(5, 2)))
    outlier = SpeakerBaseline.from_vectors(rng.normal(40.0, 0.2, size=(5, 2)))
    assert (population.typicality(typical.mean, typical.counts) > 0.9).all()
    assert (population.typicality(outlier.mean, outlier.counts) < 1e-6).all()
    typical_mean, _ = typical.shrunk_toward(population, strength=10)
    assert (typical_mean < 0.5).all()  # pulled most of the way to the population (5 own against ~9 pseudo)
    outlier_mean, outlier_std = outlier.shrunk_toward(population, strength=10)
    np.testing.assert_allclose(outlier_mean, outlier.mean, atol=1e-3)
    assert (outlier_std > 1.5).all()  # its five near-identical turns do not make every small change an emotion
    assert population.typicality(np.zeros(2), np.zeros(2)).tolist() == [1.0, 1.0]  # nothing seen: full prior


def test_undefined_zscores_mean_as_usual_for_this_speaker() -> None:
    z = zscore(np.array([[np.nan, 3.0]]), mean=np.array([1.0, 1.0]), std=np.array([1.0, 0.0]))
    assert z[0, 0] == 0.0 and np.isfinite(z).all()


# ---- encoder pooling ------------------------------------------------------------------------------
def test_pooling_takes_mean_and_std_of_the_frames_inside_the_time_range() -> None:
    states = np.repeat(np.arange(100, dtype=np.float32)[:, None], 3, axis=1)  # frame i holds i
    frames = ChannelFrames(states)
    pooled = frames.pool(0.10, 0.20)  # frames 5..9
    np.testing.assert_allclose(pooled[:3], 7.0)
    np.testing.assert_allclose(pooled[3:], np.std([5, 6, 7, 8, 9]))
    np.testing.assert_allclose(frames.pool(0.501, 0.502)[:3], 25.0)  # shorter than a frame: its frame


class _FakeWhisper:
    """Stands in for faster_whisper.WhisperModel: mel frames -> states equal to the window's index."""

    class _Extractor:
        def __call__(self, audio: np.ndarray) -> np.ndarray:
            return np.zeros((80, len(audio) // 160 + 1), np.float32)

    class _Encoder:
        def __init__(self) -> None:
            self.calls = 0

        def encode(self, features, to_cpu: bool = False) -> np.ndarray:
            self.calls += 1
            self.frames = np.array(features).shape[-1]
            return np.full((1, self.frames // 2, 4), float(self.calls), np.float32)

    def __init__(self) -> None:
        self.feature_extractor = self._Extractor()
        self.model = self._Encoder()


def test_channel_is_encoded_once_per_30s_window_holding_a_turn() -> None:
    whisper = _FakeWhisper()
    encoder = EncoderFeatures(EncoderConfig(input="window"), model=whisper)
    frames = encoder.for_channel(np.zeros(65 * SR, np.float32), speech=[(40.0, 45.0)])
    assert whisper.model.calls == 1  # windows 0-30 s and 60-65 s hold no turn
    assert frames.states.shape[0] == 65 / 0.02
    np.testing.assert_allclose(frames.pool(40.0, 45.0)[:4], 1.0)
    with pytest.raises(ValueError, match="not encoded"):
        frames.pool(5.0, 6.0)


def test_each_turn_is_encoded_alone_without_padding_by_default() -> None:
    whisper = _FakeWhisper()
    encoder = EncoderFeatures(EncoderConfig(), model=whisper)
    pooled = encoder.for_turns(np.zeros(65 * SR, np.float32), [(1.0, 3.0), (40.0, 45.0)])
    assert whisper.model.calls == 2
    assert whisper.model.frames == 500  # 5 s of 10 ms mel frames: no padding to 30 s
    np.testing.assert_allclose(pooled[1][:4], 2.0)
    assert pooled[0].shape == (8,)


# ---- prosody --------------------------------------------------------------------------------------
def _voiced(f0: float, seconds: float = 1.0, gain: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    tone = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2  # syllable-like loudness movement
    return (gain * tone * envelope / 3).astype(np.float32)


def test_prosody_ignores_the_recording_level() -> None:
    loud, quiet = prosody_vector(_voiced(180.0, gain=0.5)), prosody_vector(_voiced(180.0, gain=0.005))
    assert len(loud) == len(feature_names())
    np.testing.assert_allclose(loud, quiet, atol=0.05, rtol=0.02)


def test_prosody_pitch_is_in_semitones_above_100_hz() -> None:
    vector = prosody_vector(_voiced(200.0))
    median = vector[feature_names().index("f0_p50_st")]
    assert median == pytest.approx(12.0, abs=0.3)


def test_zero_crossing_rate_equals_librosas() -> None:
    import librosa

    from engine.emotion.voice.prosody import zero_crossing_rate

    rng = np.random.default_rng(3)
    for length in (2048, 5001, 3 * SR + 7):
        audio = rng.normal(size=length).astype(np.float32)
        audio[100:300] = 0.0  # exact zeros and values under librosa's threshold count as positive
        audio[400:420] = -1e-12
        expected = librosa.feature.zero_crossing_rate(audio, frame_length=1024, hop_length=160)[0]
        np.testing.assert_array_equal(zero_crossing_rate(audio, 1024, 160), expected)


def test_pitch_at_a_20ms_step_measures_what_a_10ms_step_does() -> None:
    from engine.emotion.voice.prosody import ProsodyConfig

    t = np.arange(2 * SR) / SR
    glide = (0.3 * np.sin(2 * np.pi * (150 * t + 25 * t**2))).astype(np.float32)  # 150 -> 250 Hz in 2 s
    names = feature_names()
    coarse = prosody_vector(glide, ProsodyConfig(pitch_hop_seconds=0.02))
    fine = prosody_vector(glide, ProsodyConfig(pitch_hop_seconds=0.01))
    for name in ("f0_p10_st", "f0_p50_st", "f0_p90_st", "f0_slope_st_per_s", "voiced_fraction"):
        assert coarse[names.index(name)] == pytest.approx(fine[names.index(name)], abs=0.3), name
    assert coarse[names.index("f0_slope_st_per_s")] == pytest.approx(12 * np.log2(250 / 150) / 2, abs=0.5)


def test_silence_gives_undefined_pitch_not_an_error() -> None:
    vector = prosody_vector(np.zeros(SR // 2, np.float32))
    assert np.isnan(vector[feature_names().index("f0_mean_st")])


# ---- the head -------------------------------------------------------------------------------------
def _toy_clips(speakers: int = 4, per_label: int = 6, seed: int = 0) -> ClipSet:
    """Each speaker has an offset (who) and each label a direction (how): the head must learn the how."""
    rng = np.random.default_rng(seed)
    labels = ["neutral", "calm", "happy", "sad", "angry", "fear", "surprise", "disgust"]
    aroused = {"happy", "angry", "fear", "surprise"}
    directions = {label: rng.normal(size=6) * 2 + (3.0 if label in aroused else -3.0) * np.eye(6)[0]
                  for label in labels}
    rows, who, what = [], [], []
    for s in range(speakers):
        offset = rng.normal(size=6) * 5
        for label in labels:
            for _ in range(per_label):
                rows.append(offset + directions[label] + rng.normal(size=6) * 0.5)
                who.append(f"spk{s}")
                what.append(label)
    n = len(rows)
    return ClipSet(np.array(rows), np.array(who), np.array(what), np.array(["en"] * n), np.array(["toy"] * n))


def _fit_toy(clips: ClipSet) -> VoiceEmotionModel:
    options = FitOptions(blocks=("encoder", "prosody"), block_dims={"encoder": 4, "prosody": 2}, encoder="toy",
                         c_grid=(1.0,), language_heads=())
    return fit_voice_model(clips, options)


@pytest.fixture(scope="module")
def toy() -> tuple[ClipSet, VoiceEmotionModel]:
    clips = _toy_clips()
    return clips, _fit_toy(clips)


def test_head_round_trips_through_its_file(tmp_path: Path, toy: tuple[ClipSet, VoiceEmotionModel]) -> None:
    clips, model = toy
    path = tmp_path / "head.joblib"
    model.save(path)
    again = VoiceEmotionModel.load(path)
    baseline = SpeakerBaseline.from_vectors(clips.X[:20])
    for b in (None, baseline):
        a1, r1, m1 = model.predict_arrays(clips.X[:10], "en", b)
        a2, r2, m2 = again.predict_arrays(clips.X[:10], "en", b)
        np.testing.assert_allclose(a1, a2, atol=1e-5)
        np.testing.assert_allclose(r1, r2, atol=1e-5)
        assert m1 == m2
    assert path.stat().st_size < 100_000


def test_predictions_cover_every_label_and_a_bounded_arousal(toy: tuple[ClipSet, VoiceEmotionModel]) -> None:
    clips, model = toy
    features = [VoiceFeatures(encoder=row[:4], prosody=row[4:]) for row in clips.X[:3]]
    predictions = model.predict(features, language="en")
    assert all(set(p.scores) == set(LABELS) for p in predictions)
    assert all(abs(sum(p.scores.values()) - 1.0) < 1e-6 and 0.0 <= p.arousal <= 1.0 for p in predictions)
    assert predictions[0].mode == "clip"


def test_a_baseline_too_small_to_trust_falls_back_to_clip_mode(toy: tuple[ClipSet, VoiceEmotionModel]) -> None:
    clips, model = toy
    _, _, mode = model.predict_arrays(clips.X[:1], "en", SpeakerBaseline.from_vectors(clips.X[:2]))
    assert mode == "clip"
    _, _, mode = model.predict_arrays(clips.X[:1], "en", SpeakerBaseline.from_vectors(clips.X[:10]))
    assert mode == "speaker"


def test_unseen_speaker_is_recognised_through_its_own_baseline(toy: tuple[ClipSet, VoiceEmotionModel]) -> None:
    _, model = toy
    test = _toy_clips(speakers=6, seed=0).take(np.isin(_toy_clips(speakers=6, seed=0).speakers, ["spk4", "spk5"]))
    figures = score_speakers(model, test, "all").metrics()
    assert figures["four_class"] > 0.75 and figures["arousal_bacc"] > 0.8  # chance: 0.25 and 0.5


def test_a_vector_of_the_wrong_length_is_refused(toy: tuple[ClipSet, VoiceEmotionModel]) -> None:
    _, model = toy
    with pytest.raises(ValueError, match="expects 6"):
        model.predict(np.zeros((1, 5)), "en")


def test_manifest_paths_resolve_relative_to_the_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    with open(manifest, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "speaker", "label", "language", "corpus"])
        writer.writerow(["clips/a.wav", "s1", "angry", "en", "toy"])
    assert read_manifest(manifest)[0]["path"] == str(tmp_path / "clips" / "a.wav")
    (tmp_path / "bad.jsonl").write_text(json.dumps({"path": "a.wav", "speaker": "s1"}) + "\n")
    with pytest.raises(ValueError, match="lacks label"):
        read_manifest(tmp_path / "bad.jsonl")


# ---- real clips (slow) ----------------------------------------------------------------------------
needs_shared = pytest.mark.skipif(not SHARED.exists(), reason=f"{SHARED} is absent: real emotion clips not here")
needs_head = pytest.mark.skipif(not DEFAULT_HEAD.exists(), reason="no fitted head shipped yet")


@pytest.mark.slow
@needs_shared
@needs_head
def test_angry_casia_clip_is_more_aroused_than_neutral_against_the_speakers_baseline() -> None:
    from engine.emotion.voice import VoiceFeatureExtractor
    from engine.emotion.voice.features import load_clip

    folder = SHARED / "emotion" / "casia_dev"
    head = VoiceEmotionModel.load()
    extractor = VoiceFeatureExtractor.for_head(head)
    emotions = ("angry", "fear", "happy", "neutral", "sad", "surprise")
    history = [extractor.clip(load_clip(folder / f"wangzhe-{e}-{n}.flac")) for e in emotions for n in (211, 212)]
    baseline = head.baseline_for(history, speaker="casia-wangzhe")
    angry, neutral = (extractor.clip(load_clip(folder / f"wangzhe-{e}-230.flac")) for e in ("angry", "neutral"))
    predictions = head.predict([angry, neutral], language="zh", baseline=baseline)
    assert predictions[0].mode == "speaker"
    assert predictions[0].arousal > predictions[1].arousal + 0.2
    assert predictions[0].scores["angry"] > predictions[1].scores["angry"]


# Outer folds of each shipped recipe's nested procedure, scored against the targets of issues 4 (RAVDESS,
# en) and 8 (CASIA, multilingual): (arousal balanced accuracy, four-class accuracy, anger F1), or None where
# the issue sets none. Measured on these folds (settings chosen on the other speakers only): en, actors 01-03
# held out one at a time, .946 / .881 / .960 per speaker, .931 / .857 / 1.0 clip by clip.
RECIPE_FLOORS = {
    "en": {"all": (0.92, 0.85, 0.82), None: (0.89, 0.78, 0.72)},
    "multilingual": {"all": (None, 0.75, 0.82), None: (None, 0.65, 0.65)},
}


@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize("recipe", sorted(RECIPE_FLOORS))
def test_each_shipped_recipe_meets_its_issue_targets_on_speakers_it_never_heard(
    recipe: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Catches a change to the features, the fitting or the selection that the shipped figures no longer
    survive: outer folds of the nested procedure as the shipped figures are made (one speaker held out per
    fold; its layers, weights and C chosen by an inner split of the other speakers), pooled over RAVDESS actors
    01-03 for ``en`` and CASIA speaker liuchanhg for ``multilingual``. The whole protocol, fourteen outer folds,
    is bench/bench_voice_emotion.py."""
    import argparse

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "scripts"))
    from emotion_manifests import casia_rows, ravdess_rows
    from fit_voice_emotion import add_recipe_arguments, search_from_args

    from engine.emotion.voice.evaluation import Scored, corpus_folds
    from engine.emotion.voice.selection import FeatureBank, outer_fold

    parser = argparse.ArgumentParser()
    add_recipe_arguments(parser)
    options, space = search_from_args(parser.parse_args(["--recipe", recipe]))  # as the fitting script does
    folder = SHARED / "emotion"
    rows = ravdess_rows(folder / "ravdess_dev") + casia_rows(folder / "casia_dev")
    bank = FeatureBank.extract(rows, options.encoder, space.extracted_layers, trim=options.speech_trim)
    held = {"en": {"ravdess-01", "ravdess-02", "ravdess-03"}, "multilingual": {"casia-liuchanhg"}}[recipe]
    folds = [fold for fold in corpus_folds(bank.clips, 12) if set(fold[1]) <= held]
    assert {s for _, speakers in folds for s in speakers} == held
    pooled = {"all": Scored(), None: Scored()}
    choices = []
    for corpus, speakers in folds:
        fold, (by_speaker, clip_by_clip) = outer_fold(bank, options, space, corpus, speakers)
        assert set(fold.test.speakers) == set(speakers)
        pooled["all"].extend(by_speaker)
        pooled[None].extend(clip_by_clip)
        choices.append(fold.selection.choice.describe())
    for mode, floors in RECIPE_FLOORS[recipe].items():
        figures = pooled[mode].metrics()
        measured = (figures["arousal_bacc"], figures["four_class"], figures["anger_f1"])
        for floor, value in zip(floors, measured, strict=True):
            assert floor is None or value >= floor, (recipe, mode, choices, figures)


@pytest.mark.slow
@needs_shared
@needs_head
def test_turns_of_a_channel_pool_like_the_same_clips_on_their_own() -> None:
    from engine.emotion.voice import VoiceFeatureExtractor
    from engine.emotion.voice.features import load_clip

    folder = SHARED / "emotion" / "ravdess_dev"
    head = VoiceEmotionModel.load()
    extractor = VoiceFeatureExtractor.for_head(head)
    clips = [load_clip(folder / name) for name in ("03-01-05-02-01-01-03.flac", "03-01-02-01-01-01-03.flac")]
    gap = np.zeros(SR, np.float32)
    channel = np.concatenate([clips[0], gap, clips[1]])
    first_end = len(clips[0]) / SR
    spans = [(0.0, first_end), (first_end + 1.0, len(channel) / SR)]
    turns = extractor.turns(channel, spans)
    alone = [extractor.clip(c) for c in clips]
    for turn, clip in zip(turns, alone, strict=True):
        similarity = np.corrcoef(turn.block("encoder"), clip.block("encoder"))[0, 1]
        assert similarity > 0.99  # each turn is encoded alone, from position 0, like a clip
        np.testing.assert_allclose(turn.block("prosody"), clip.block("prosody"), atol=1e-3, rtol=1e-3)


# ---- inner encoder layers ---------------------------------------------------------------------------
def test_arousal_can_blend_the_binary_head_with_the_high_arousal_labels(
    toy: tuple[ClipSet, VoiceEmotionModel],
) -> None:
    import dataclasses

    clips, model = toy
    alone = dataclasses.replace(model, arousal_from_labels=0.0)
    labels_only = dataclasses.replace(model, arousal_from_labels=1.0)
    half = dataclasses.replace(model, arousal_from_labels=0.5)
    probs, a0, _ = alone.predict_arrays(clips.X[:12], "en")
    _, a1, _ = labels_only.predict_arrays(clips.X[:12], "en")
    _, a_half, _ = half.predict_arrays(clips.X[:12], "en")
    high = [LABELS.index(x) for x in ("happy", "angry", "fear", "surprise")]
    np.testing.assert_allclose(a1, probs[:, high].sum(axis=1), atol=1e-9)
    np.testing.assert_allclose(a_half, (a0 + a1) / 2, atol=1e-9)


def test_head_keeps_its_encoder_layers_and_arousal_blend_through_its_file(
    tmp_path: Path, toy: tuple[ClipSet, VoiceEmotionModel],
) -> None:
    import dataclasses

    _, model = toy
    layered = dataclasses.replace(model, encoder_layers=(2, 3), arousal_from_labels=0.5)
    layered.save(tmp_path / "h.joblib")
    again = VoiceEmotionModel.load(tmp_path / "h.joblib")
    assert again.encoder_layers == (2, 3) and again.arousal_from_labels == 0.5
    from engine.emotion.baselines import layout_of

    assert layout_of(again) != layout_of(model)  # an agent baseline of other layers is not reused


def test_language_weights_parse_and_refuse_what_is_not_lang_equals_weight() -> None:
    from engine.emotion.voice.training import parse_language_weights

    assert parse_language_weights(["zh=2", "en=0.5"]) == {"zh": 2.0, "en": 0.5}
    for bad in ("zh", "zh=two", "=2"):
        with pytest.raises(ValueError, match="LANG=WEIGHT"):
            parse_language_weights([bad])


def test_encoder_layers_are_pooled_per_turn_only() -> None:
    with pytest.raises(ValueError, match="per turn only"):
        EncoderFeatures(EncoderConfig(model="tiny.en", input="window", layers=(2,)))


def test_ctranslate2_reader_refuses_a_file_of_another_format(tmp_path: Path) -> None:
    from engine.emotion.voice.layers import read_ctranslate2

    (tmp_path / "model.bin").write_bytes((99).to_bytes(4, "little") + b"\0" * 16)
    with pytest.raises(ValueError, match="binary version 99"):
        read_ctranslate2(tmp_path / "model.bin")


@pytest.fixture(scope="module")
def tiny_layers() -> object:
    from engine.emotion.voice.layers import WhisperLayers
    from engine.models.registry import resolve_whisper_model

    return WhisperLayers(resolve_whisper_model("tiny.en"), layers=(2, 4))


def test_last_layer_read_into_transformers_equals_ctranslate2s_own_encoder(tiny_layers: object) -> None:
    """The weights are mapped right: the deepest layer, with the final norm, is what CTranslate2 computes."""
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.normal(size=t.size))
    ct2 = EncoderFeatures(EncoderConfig(model="tiny.en", compute_type="float32"))
    mel = ct2._whisper.feature_extractor(audio.astype(np.float32))[..., :-1]
    reference = ct2._encode_window(mel)
    after_2, last = tiny_layers.states(mel)  # type: ignore[attr-defined]
    assert last.shape == reference.shape == after_2.shape == (100, 384)
    assert np.corrcoef(last.ravel(), reference.ravel())[0, 1] > 0.9999
    assert np.corrcoef(after_2.ravel(), reference.ravel())[0, 1] < 0.9  # an inner layer is another view


def test_layers_past_the_models_depth_are_refused() -> None:
    from engine.emotion.voice.layers import WhisperLayers
    from engine.models.registry import resolve_whisper_model

    with pytest.raises(ValueError, match="layers 1-4"):
        WhisperLayers(resolve_whisper_model("tiny.en"), layers=(5,))


def test_layer_vectors_pool_each_layer_and_take_turns_longer_than_a_window() -> None:
    encoder = EncoderFeatures(EncoderConfig(model="tiny.en", layers=(2, 3)))
    assert encoder.dim == 2 * 2 * 384
    rng = np.random.default_rng(1)
    short = encoder.for_clip((0.1 * rng.normal(size=SR)).astype(np.float32))
    long = encoder.for_clip((0.1 * rng.normal(size=35 * SR)).astype(np.float32))  # two pieces: 30 s + 5 s
    assert short.shape == long.shape == (encoder.dim,)
    assert np.isfinite(long).all()
    std_block = short[384:768]  # layer 2's standard deviations
    assert (std_block >= 0).all() and std_block.mean() > 0


def test_int8_layers_stay_close_to_float32_and_turns_get_both_blocks() -> None:
    from engine.emotion.voice import VoiceFeatureExtractor
    from engine.emotion.voice.prosody import ProsodyConfig

    t = np.arange(3 * SR) / SR
    turn = (0.3 * np.sin(2 * np.pi * 160 * t * (1 + 0.1 * np.sin(2 * np.pi * t)))).astype(np.float32)
    exact = EncoderFeatures(EncoderConfig(model="tiny.en", layers=(2,), compute_type="float32")).for_clip(turn)
    quick = EncoderFeatures(EncoderConfig(model="tiny.en", layers=(2,), compute_type="int8")).for_clip(turn)
    assert np.corrcoef(exact, quick)[0, 1] > 0.98
    extractor = VoiceFeatureExtractor(encoder=EncoderConfig(model="tiny.en", layers=(2,)))
    channel = np.concatenate([turn, np.zeros(SR, np.float32), turn[::-1].copy()])
    features = extractor.turns(channel, [(0.0, 3.0), (4.0, 7.0)])
    assert [f.encoder.shape for f in features] == [(768,), (768,)]
    np.testing.assert_allclose(features[0].prosody, prosody_vector(turn, ProsodyConfig()), rtol=1e-5)


def test_bfloat16_convolutions_stay_with_float32_and_name_themselves_in_the_cache_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.emotion.voice import encoder as encoder_module

    t = np.arange(3 * SR) / SR
    turn = (0.3 * np.sin(2 * np.pi * 160 * t * (1 + 0.1 * np.sin(2 * np.pi * t)))).astype(np.float32)
    vectors = {precision: EncoderFeatures(EncoderConfig(model="tiny.en", layers=(2,), compute_type="float32",
                                                        conv_precision=precision)).for_clip(turn)
               for precision in ("float32", "bfloat16")}
    assert np.corrcoef(vectors["float32"], vectors["bfloat16"])[0, 1] > 0.999
    assert not np.array_equal(vectors["float32"], vectors["bfloat16"])  # the setting reaches the convolutions
    # auto follows the CPU, and the cache keeps the two kinds of vectors apart
    monkeypatch.setattr(encoder_module, "cpu_has_bfloat16", lambda: True)
    native = EncoderConfig(model="tiny.en", layers=(2, 3))
    assert native.resolved_conv_precision() == "bfloat16" and native.cache_key()["conv"] == "bfloat16"
    monkeypatch.setattr(encoder_module, "cpu_has_bfloat16", lambda: False)
    assert native.resolved_conv_precision() == "float32" and "conv" not in native.cache_key()
    gpu = EncoderConfig(model="tiny.en", layers=(2, 3), device="cuda").cache_key()
    assert gpu["compute_type"] == "float16" and "conv" not in gpu
    with pytest.raises(ValueError, match="conv_precision"):
        from engine.emotion.voice.layers import WhisperLayers
        from engine.models.registry import resolve_whisper_model

        WhisperLayers(resolve_whisper_model("tiny.en"), (2,), conv_precision="int4")


def test_a_gpu_runtime_reaches_the_layer_encoder_configuration(toy: tuple[ClipSet, VoiceEmotionModel]) -> None:
    """No GPU here: the configuration that would run it (device cuda, float16 in layers.py) is what is checked."""
    import dataclasses

    from engine.emotion.voice import VoiceFeatureExtractor

    _, model = toy
    head = dataclasses.replace(model, encoder="tiny.en", encoder_layers=(2, 3))
    extractor = VoiceFeatureExtractor.for_head(head, device="cuda", threads=2)
    assert extractor.encoder_config.device == "cuda" and extractor.encoder_config.layers == (2, 3)
    assert extractor.encoder_config.threads == 2
    assert VoiceFeatureExtractor.for_head(head).encoder_config.device == "cpu"


def test_a_language_with_one_speaker_is_a_prior_for_baselines_but_not_for_clips(
    toy: tuple[ClipSet, VoiceEmotionModel],
) -> None:
    import dataclasses

    _, model = toy
    one = PopulationBaseline(mean=np.full(6, 3.0), std=np.ones(6), within_std=np.ones(6), speakers=1)
    strict = dataclasses.replace(model, populations={**model.populations, "zh": one}, min_population_speakers=2)
    assert strict.population("zh") is strict.populations["*"]  # one speaker's statistics do not z-score clips
    assert strict.prior("zh") is one  # but they are what a small baseline of a Mandarin speaker shrinks toward
    assert dataclasses.replace(strict, min_population_speakers=1).population("zh") is one
    assert strict.population("fr") is strict.prior("fr") is strict.populations["*"]



# ---- nested selection, spread floor, neutral prior ---------------------------------------------------
def _bank(clips: ClipSet, layers: tuple[int, ...] = (2, 3), width: int = 2, prosody: int = 2) -> object:
    """A FeatureBank over toy clips whose 6 columns are laid out as 2 layers × (mean, std) of width 1 + prosody 2."""
    from engine.emotion.voice.selection import FeatureBank

    return FeatureBank(clips, "toy", layers, width // 2, prosody)


def test_a_bank_view_cuts_each_layers_mean_and_std_and_keeps_prosody() -> None:
    from engine.emotion.voice.selection import FeatureBank

    x = np.arange(2 * (3 * 2 * 4 + 3), dtype=float).reshape(2, -1)  # layers 2, 3, 4 of width 4, prosody 3
    clips = ClipSet(x, np.array(["a", "b"]), np.array(["angry", "sad"]), np.array(["en"] * 2), np.array(["t"] * 2))
    bank = FeatureBank(clips, "toy", (2, 3, 4), 4, 3)
    view, dims = bank.view((3,))
    assert dims == {"encoder": 8, "prosody": 3}
    np.testing.assert_array_equal(view.X[0], np.r_[x[0, 8:16], x[0, 24:27]])
    both, dims = bank.view((2, 4))
    np.testing.assert_array_equal(both.X[1], np.r_[x[1, 0:8], x[1, 16:24], x[1, 24:27]])
    with pytest.raises(ValueError, match="not extracted"):
        bank.view((6,))


def test_selection_takes_the_simplest_candidate_within_one_standard_error_of_the_best() -> None:
    from engine.emotion.voice.selection import Choice, Selection

    simple, rich = Choice((3,), 1.0, 0.01), Choice((2, 3), 2.0, 0.1)
    assert simple.complexity() < rich.complexity() < Choice((2, 3), 2.0, 0.1, ("calm",)).complexity()
    assert Choice((3,), 1.0, 0.003).complexity() < simple.complexity() < Choice((4,), 1.0, 0.003).complexity()
    clips = _toy_clips(speakers=6)
    from engine.emotion.voice.selection import SearchSpace, select

    space = SearchSpace(layer_sets=((2, 3), (3,)), prosody_weights=(1.0,), c_grid=(0.1, 1.0), judged_by="en",
                        arousal_mixes=(0.7,))
    selection = select(_bank(clips), FitOptions(encoder="toy", language_heads=("en",)), space)
    assert isinstance(selection, Selection) and len(selection.table) == 4 and selection.speakers == 6
    best_mean, best_se = next((m, se) for c, m, se in selection.table if c == selection.best)
    chosen_mean = next(m for c, m, _ in selection.table if c == selection.choice)
    assert chosen_mean >= best_mean - best_se
    simpler = [c for c, m, _ in selection.table if c.complexity() < selection.choice.complexity()]
    assert all(m < best_mean - best_se for c, m, _ in selection.table if c in simpler)


def test_nested_evaluation_never_scores_a_speaker_its_choice_or_head_was_fitted_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.emotion.voice import selection as selection_module

    clips = _toy_clips(speakers=8)
    chosen_on: list[set[str]] = []
    real_select = selection_module.select

    def spy(bank, base, space, log=None):  # type: ignore[no-untyped-def]
        chosen_on.append(set(bank.clips.speakers))
        return real_select(bank, base, space, log)

    monkeypatch.setattr(selection_module, "select", spy)
    space = selection_module.SearchSpace(layer_sets=((2, 3),), prosody_weights=(1.0,), c_grid=(1.0,),
                                         judged_by="en", arousal_mixes=(0.7,))
    report = selection_module.nested_evaluation(_bank(clips), FitOptions(encoder="toy"), space, n_folds=4)
    assert [f.speakers for f in report.folds] == [["spk0", "spk1"], ["spk2", "spk3"], ["spk4", "spk5"],
                                                  ["spk6", "spk7"]]
    for fold, speakers in zip(report.folds, chosen_on, strict=True):
        assert set(fold.test.speakers) == set(fold.speakers) and not speakers & set(fold.speakers)
    figures = report.figures()["toy/speaker"]
    assert figures["n"] == len(clips) and figures["four_class"] > 0.75
    assert 0 <= figures["four_class_speaker_se"] < 0.2


def test_spread_floor_is_the_median_calm_speakers_spread() -> None:
    from engine.emotion.voice.floor import spread_floor

    rng = np.random.default_rng(4)
    spreads = (0.5, 1.0, 2.0)
    x = np.vstack([rng.normal(0, s, size=(400, 2)) for s in spreads] + [np.zeros((2, 2))])
    who = np.repeat(["a", "b", "c", "d"], [400, 400, 400, 2])  # d: too few turns to count
    np.testing.assert_allclose(spread_floor(x, who), 1.0, atol=0.1)
    with pytest.raises(ValueError, match="3 turns"):
        spread_floor(x[:2], who[:2])


def test_the_floor_keeps_a_monotonous_speakers_ordinary_turns_from_looking_extreme(
    toy: tuple[ClipSet, VoiceEmotionModel],
) -> None:
    import dataclasses

    _, model = toy
    rng = np.random.default_rng(5)
    calm = rng.normal(0.0, 0.01, size=(40, 6))  # a speaker who hardly varies
    baseline = SpeakerBaseline.from_vectors(calm)
    bare, _ = dataclasses.replace(model, shrinkage=0.0).normalise(calm, "en", baseline)
    floored = dataclasses.replace(model, shrinkage=0.0, spread_floor=np.full(6, 1.0))
    z, mode = floored.normalise(calm, "en", baseline)
    assert mode == "speaker" and np.abs(bare).max() > 1.5 and np.abs(z).max() < 0.1
    off = dataclasses.replace(floored, floor_scale=0.0).normalise(calm, "en", baseline)[0]
    np.testing.assert_allclose(off, bare)
    lively = rng.normal(0.0, 3.0, size=(40, 6))  # a spread above the floor is the speaker's own
    wide = SpeakerBaseline.from_vectors(lively)
    np.testing.assert_allclose(floored.normalise(lively, "en", wide)[0],
                               dataclasses.replace(floored, spread_floor=None).normalise(lively, "en", wide)[0])


def test_the_neutral_prior_pulls_a_usual_reading_toward_neutral_and_leaves_a_different_one(
    toy: tuple[ClipSet, VoiceEmotionModel],
) -> None:
    import dataclasses

    clips, model = toy
    prior = dataclasses.replace(model, neutral_prior=0.5, prior_distance=0.2)
    usual = np.full(len(LABELS), 1.0 / len(LABELS))  # how the head reads the speaker's usual voice
    angry = np.eye(len(LABELS))[LABELS.index("angry")]
    pulled = prior.toward_neutral(np.vstack([usual, angry]), usual)
    assert pulled[0, LABELS.index("neutral")] == pytest.approx(0.5 + 0.5 / len(LABELS))  # read as usual
    assert pulled[1, LABELS.index("angry")] > 0.99  # read far from usual: kept
    np.testing.assert_allclose(pulled.sum(axis=1), 1.0)
    # in scoring it acts against the speaker's own baseline only, never clip by clip
    baseline = SpeakerBaseline.from_vectors(clips.X[:40])
    for b, changed in ((baseline, True), (None, False)):
        plain = model.predict_arrays(clips.X[:40], "en", b)[0]
        with_prior = dataclasses.replace(prior, neutral_prior=0.9).predict_arrays(clips.X[:40], "en", b)[0]
        assert (with_prior[:, LABELS.index("neutral")] > plain[:, LABELS.index("neutral")] + 1e-6).any() == changed


def test_floor_and_prior_survive_the_file_and_a_voice_config_overrides_them(
    tmp_path: Path, toy: tuple[ClipSet, VoiceEmotionModel],
) -> None:
    import dataclasses

    from engine.emotion.config import VoiceConfig

    _, model = toy
    dataclasses.replace(model, spread_floor=np.full(6, 0.5), neutral_prior=0.4).save(tmp_path / "h.joblib")
    again = VoiceEmotionModel.load(tmp_path / "h.joblib")
    np.testing.assert_allclose(again.spread_floor, 0.5)
    assert again.neutral_prior == pytest.approx(0.4) and again.floor_scale == 1.0
    configured = VoiceEmotionModel.load(tmp_path / "h.joblib", VoiceConfig(spread_floor=0.0, neutral_prior=0.1))
    assert configured.floor_scale == 0.0 and configured.neutral_prior == pytest.approx(0.1)
    assert configured.prior_distance == again.prior_distance  # None in the config: the head's own
    with pytest.raises(ValueError):
        VoiceConfig(neutral_prior=1.5)


# ---- cutting training clips to their speech ------------------------------------------------------
def _tone_in_silence(lead: float, tone: float, tail: float) -> np.ndarray:
    t = np.arange(int(tone * SR)) / SR
    voiced = (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    rng = np.random.default_rng(0)
    floor = lambda seconds: (rng.normal(size=int(seconds * SR)) * 1e-5).astype(np.float32)  # noqa: E731
    return np.concatenate([floor(lead), voiced, floor(tail)])


def test_speech_trim_keeps_the_speech_and_a_little_air_and_leaves_silence_whole() -> None:
    from engine.emotion.voice.features import SpeechTrim

    audio = _tone_in_silence(1.0, 1.5, 0.8)
    cut = SpeechTrim(top_db=40.0, pad_seconds=0.15).apply(audio)
    assert abs(len(cut) / SR - (1.5 + 2 * 0.15)) < 0.06
    assert np.abs(cut).max() == np.abs(audio).max()
    silent = np.zeros(SR, np.float32)
    assert len(SpeechTrim().apply(silent)) == SR
    assert SpeechTrim.from_dict(SpeechTrim(30.0, 0.1).cache_key()) == SpeechTrim(30.0, 0.1)
    assert SpeechTrim.from_dict(None) is None


def test_trimmed_clips_are_cached_apart_and_match_the_speech_alone(tmp_path: Path) -> None:
    import soundfile as sf

    from engine.emotion.voice.features import FeatureCache, SpeechTrim, prosody_vectors
    from engine.emotion.voice.prosody import ProsodyConfig

    audio = _tone_in_silence(1.2, 1.0, 1.0)
    sf.write(tmp_path / "clip.wav", audio, SR)
    trim = SpeechTrim()
    sf.write(tmp_path / "speech.wav", trim.apply(audio), SR)
    cache = FeatureCache(tmp_path / "cache")
    whole = prosody_vectors([tmp_path / "clip.wav"], ProsodyConfig(), cache)
    trimmed = prosody_vectors([tmp_path / "clip.wav"], ProsodyConfig(), cache, trim=trim)
    speech = prosody_vectors([tmp_path / "speech.wav"], ProsodyConfig(), cache)
    names = feature_names()
    active = names.index("active_fraction")
    assert trimmed[0, active] > whole[0, active] + 0.2  # silence no longer counted in the clip
    np.testing.assert_allclose(trimmed, speech, atol=1e-5, equal_nan=True)
    assert len(list((tmp_path / "cache").iterdir())) == 2  # one folder per extractor setting, trim included


def test_a_head_fitted_on_trimmed_clips_trims_a_whole_file_clip_the_same_way(
    tmp_path: Path, toy: tuple[ClipSet, VoiceEmotionModel],
) -> None:
    import dataclasses

    from engine.emotion.voice.features import SpeechTrim, VoiceFeatureExtractor

    _, model = toy
    trimmed = dataclasses.replace(model, blocks=("prosody",), clip_trim=SpeechTrim().cache_key())
    trimmed.save(tmp_path / "h.joblib")
    again = VoiceEmotionModel.load(tmp_path / "h.joblib")
    assert again.clip_trim == SpeechTrim().cache_key()
    extractor = VoiceFeatureExtractor.for_head(again)
    assert extractor.trim == SpeechTrim()
    audio = _tone_in_silence(1.0, 1.0, 1.0)
    np.testing.assert_allclose(extractor.clip(audio).prosody, prosody_vector(SpeechTrim().apply(audio)),
                               equal_nan=True)
    assert VoiceFeatureExtractor.for_head(model).trim is None  # a head of whole clips keeps clips whole
    np.testing.assert_allclose(VoiceFeatureExtractor.for_head(dataclasses.replace(model, blocks=("prosody",)))
                               .clip(audio).prosody, prosody_vector(audio), equal_nan=True)
