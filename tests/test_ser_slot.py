"""The speech-emotion-model slot, tested with a tiny random wav2vec2 classifier the test builds and saves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.emotion.config import SerSlotConfig
from engine.emotion.ser_slot import SpeechEmotionSlot
from engine.errors import ModelNotInstalled

MODEL_LABELS = {0: "ang", 1: "hap", 2: "neu", 3: "sad", 4: "fear", 5: "disgust", 6: "calm", 7: "boredom"}


@pytest.fixture(scope="module")
def tiny_ser_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        vocab_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2, classifier_proj_size=8, do_stable_layer_norm=True,
        feat_extract_norm="layer", id2label=MODEL_LABELS, label2id={v: k for k, v in MODEL_LABELS.items()},
    )
    model = Wav2Vec2ForSequenceClassification(config).eval()
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True,
    )
    directory = tmp_path_factory.mktemp("tiny-ser")
    model.save_pretrained(directory)
    extractor.save_pretrained(directory)
    return directory


def _waves(seconds: list[float]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.1 * rng.standard_normal(int(s * 16000))).astype(np.float32) for s in seconds]


def test_no_model_dir_means_the_slot_is_off() -> None:
    assert SpeechEmotionSlot.load(SerSlotConfig()) is None


def test_model_labels_map_to_ours_and_unknown_ones_are_dropped(tiny_ser_dir: Path) -> None:
    slot = SpeechEmotionSlot.load(SerSlotConfig(model_dir=str(tiny_ser_dir)), device="cpu")
    assert slot is not None
    assert slot.model_labels == list(MODEL_LABELS.values())
    # ang, hap, neu, sad, fear, disgust, calm map; "boredom" is not in the default map; calm joins neutral.
    assert slot.labels == ["angry", "satisfied", "neutral", "sad", "anxious", "frustrated"]


def test_batched_turns_of_different_lengths_give_one_distribution_each(tiny_ser_dir: Path) -> None:
    slot = SpeechEmotionSlot.load(SerSlotConfig(model_dir=str(tiny_ser_dir), batch_size=2), device="cpu")
    assert slot is not None
    waves = _waves([0.05, 1.0, 2.5, 0.6, 1.7])  # includes a turn shorter than the encoder's receptive field
    scores = slot.predict(waves)
    assert len(scores) == len(waves)
    for row in scores:
        assert set(row) == set(slot.labels)
        assert sum(row.values()) == pytest.approx(1.0, abs=1e-5)
        assert all(0.0 <= p <= 1.0 for p in row.values())
    # batching and sorting by length must not mix turns up: one turn alone scores the same.
    alone = slot.predict([waves[2]])[0]
    assert alone == pytest.approx(scores[2], abs=1e-4)
    assert slot.predict([]) == []


def test_probabilities_of_labels_mapped_together_are_summed(tiny_ser_dir: Path) -> None:
    label_map = {"ANG": "angry", "disgust": "angry", "neu": "neutral"}
    config = SerSlotConfig(model_dir=str(tiny_ser_dir), label_map=label_map)
    slot = SpeechEmotionSlot.load(config, device="cpu")
    assert slot is not None
    assert slot.labels == ["angry", "neutral"]
    row = slot.predict(_waves([1.0]))[0]
    assert set(row) == {"angry", "neutral"}
    assert sum(row.values()) == pytest.approx(1.0, abs=1e-5)


def test_missing_directory_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotInstalled, match=r"no-such-model.*not found"):
        SpeechEmotionSlot.load(SerSlotConfig(model_dir=str(missing)))


def test_a_directory_that_is_not_an_audio_classifier_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    text_model = tmp_path / "bert-not-audio"
    text_model.mkdir()
    (text_model / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    with pytest.raises(ModelNotInstalled, match=r"bert-not-audio.*not a transformers audio-classification model"):
        SpeechEmotionSlot.load(SerSlotConfig(model_dir=str(text_model)))
    empty = tmp_path / "empty-dir"
    empty.mkdir()
    with pytest.raises(ModelNotInstalled, match=r"empty-dir.*not a transformers audio-classification model"):
        SpeechEmotionSlot.load(SerSlotConfig(model_dir=str(empty)))


def test_labels_the_map_does_not_know_are_a_clear_error(tiny_ser_dir: Path) -> None:
    with pytest.raises(ModelNotInstalled, match="label_map"):
        SpeechEmotionSlot.load(SerSlotConfig(model_dir=str(tiny_ser_dir), label_map={"x": "angry"}), device="cpu")
