"""The speech-emotion-model slot: any ``transformers`` audio-classification model directory, by configuration.

No speech-emotion model can be had here (none is published with weights inside a package), so none is
bundled: a centre that has one (a fine-tuned wav2vec2 / HuBERT / WavLM directory) names it in
``ser.model_dir`` and it becomes a third emotion signal beside the text and the voice features. Its labels
(``ang``, ``hap``, ``fear`` …) are mapped to ours by ``ser.label_map``; model labels that map to the same
label have their probabilities summed, and labels the map does not know are dropped (the rest renormalised).

    slot = SpeechEmotionSlot.load(config.ser, device="auto")   # None when no model_dir is configured
    scores = slot.predict([turn_audio_16k, ...])               # one {label: probability} per turn
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from engine.emotion.config import SerSlotConfig
from engine.errors import ModelNotInstalled
from engine.runtime import resolve_device

SAMPLE_RATE = 16000
# wav2vec2-style encoders need at least one receptive field (400 samples); shorter turns are zero-padded to
# a quarter of a second so that a one-word "yes" still yields a prediction instead of a crash.
_MIN_SAMPLES = SAMPLE_RATE // 4
_HINT = (
    "Give ser.model_dir a local directory saved with save_pretrained "
    "(config.json, weights, preprocessor_config.json)"
)


class SpeechEmotionSlot:
    """A loaded audio-classification model whose outputs are mapped to our emotion labels."""

    def __init__(self, model: Any, extractor: Any, model_dir: Path, config: SerSlotConfig, device: str) -> None:
        self.model = model
        self.extractor = extractor
        self.model_dir = model_dir
        self.config = config
        self.device = device
        lowered = {k.lower(): v for k, v in config.label_map.items()}
        id2label: dict[int, str] = {int(i): str(name) for i, name in model.config.id2label.items()}
        self.model_labels = [id2label[i] for i in sorted(id2label)]
        self._targets = [lowered.get(name.lower()) for name in self.model_labels]
        self.labels: list[str] = list(dict.fromkeys(t for t in self._targets if t is not None))
        """Our labels this model can express, in the order its own labels first map to them."""
        if not self.labels:
            raise ModelNotInstalled(
                str(model_dir), f"none of the model's labels {self.model_labels} is in ser.label_map",
                "Add them to ser.label_map (model label -> angry, frustrated, anxious, sad, neutral or satisfied)",
            )
        # (model labels) x (our labels): summing mapped probabilities is one matrix product per batch.
        self._projection = np.zeros((len(self.model_labels), len(self.labels)))
        for row, target in enumerate(self._targets):
            if target is not None:
                self._projection[row, self.labels.index(target)] = 1.0

    @classmethod
    def load(cls, config: SerSlotConfig, device: str = "auto") -> SpeechEmotionSlot | None:
        """The configured model, or None when ``model_dir`` is not set; a clear error naming a bad directory."""
        if config.model_dir is None:
            return None
        model_dir = Path(config.model_dir).expanduser()
        if not model_dir.is_dir():
            raise ModelNotInstalled(str(model_dir), "speech-emotion model directory not found", _HINT)
        from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

        try:
            # The model first: its error says what the directory holds ("BertConfig …") when it is not audio.
            model = AutoModelForAudioClassification.from_pretrained(model_dir, local_files_only=True)
            extractor = AutoFeatureExtractor.from_pretrained(model_dir, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelNotInstalled(
                str(model_dir), f"not a transformers audio-classification model directory ({reason})", _HINT
            ) from None
        resolved = resolve_device(device)
        return cls(model.to(resolved).eval(), extractor, model_dir, config, resolved)

    @property
    def sampling_rate(self) -> int:
        return int(getattr(self.extractor, "sampling_rate", SAMPLE_RATE))

    def _prepare(self, waveform: np.ndarray) -> np.ndarray:
        audio = np.asarray(waveform, dtype=np.float32).reshape(-1)
        if self.sampling_rate != SAMPLE_RATE:
            import librosa

            audio = librosa.resample(audio, orig_sr=SAMPLE_RATE, target_sr=self.sampling_rate)
        audio = audio[: int(self.config.max_seconds * self.sampling_rate)]
        if len(audio) < _MIN_SAMPLES:
            audio = np.pad(audio, (0, _MIN_SAMPLES - len(audio)))
        return audio

    def predict(self, waveforms: list[np.ndarray]) -> list[dict[str, float]]:
        """One ``{label: probability}`` per 16 kHz mono waveform (summing to 1 over ``self.labels``).

        Turns are batched by similar length (``ser.batch_size`` at a time) so that padding stays small.
        """
        import torch

        audios = [self._prepare(w) for w in waveforms]
        order = sorted(range(len(audios)), key=lambda i: len(audios[i]))
        results: list[dict[str, float]] = [{} for _ in audios]
        size = self.config.batch_size
        with torch.inference_mode():
            for start in range(0, len(order), size):
                batch = [audios[i] for i in order[start:start + size]]
                inputs = self.extractor(
                    batch, sampling_rate=self.sampling_rate, padding=True, return_tensors="pt",
                )
                inputs = {k: v.to(self.device) for k, v in inputs.items()}
                logits = self.model(**inputs).logits.float()
                probs = torch.softmax(logits, dim=-1).cpu().numpy() @ self._projection
                probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
                for index, row in zip(order[start:start + size], probs, strict=True):
                    results[index] = {label: float(p) for label, p in zip(self.labels, row, strict=True)}
        return results
