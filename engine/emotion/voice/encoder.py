"""Whisper encoder states as a voice representation, pooled over an utterance.

Whisper's encoder was trained to hear speech through noise, accents and channels; its last-layer
states carry how something was said as well as what. CTranslate2 exposes only the last layer, so
that is the one we pool (mean and standard deviation). The default is tiny.en's encoder: measured
here it scores as well as base's on both RAVDESS and CASIA (see bench/bench_voice_emotion.py) at
60 % of the cost, and it is the model the English ASR has loaded anyway.

Where the utterance sits in the encoder's input matters, measured: Whisper's states carry its
positional embedding, so the same clip placed 5 s or 15 s into a 30 s window pools to a vector whose
mean part correlates only 0.64 / 0.42 with the clip encoded on its own, and a head fitted on clips
then calls most of those turns neutral. Hence two ways in, and the head records which it was fitted on:

- ``turn`` (default): every utterance is encoded on its own from position 0, unpadded (CTranslate2
  accepts fewer than 3000 mel frames), so cost follows the speech, not 30 s of padding per turn, and
  a turn of a call looks exactly like a training clip. ``EncoderFeatures.for_turns(channel, spans)``.
- ``window``: the channel is encoded once in 30 s windows (``for_channel``) and each turn's 20 ms
  states are pooled (``ChannelFrames.pool``). This is what reusing the ASR pass's encoder output
  would give; a head for it must be fitted on features made the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from engine.emotion.voice.layers import WhisperLayers, threads
from engine.runtime import cpu_has_bfloat16

SAMPLE_RATE = 16000
# Whisper: 10 ms mel frames, stride-2 convolution in front of the encoder, so one state per 20 ms.
FRAME_SECONDS = 0.02
MEL_FRAMES_PER_WINDOW = 3000
STATES_PER_WINDOW = 1500
WINDOW_SECONDS = 30.0


def span_audio(channel: np.ndarray, start: float, end: float) -> np.ndarray:
    """The samples of ``[start, end)`` seconds of a 16 kHz channel (the end rounded up to a whole sample)."""
    return channel[int(start * SAMPLE_RATE): int(np.ceil(end * SAMPLE_RATE))]


def mel_pieces(mel: np.ndarray) -> list[np.ndarray]:
    """A clip's log-mel frames in 30 s pieces: a turn longer than 30 s is encoded piece by piece, each
    from position 0 like a short turn (a clip shorter than two frames still gives one piece)."""
    return [mel[:, i: i + MEL_FRAMES_PER_WINDOW] for i in range(0, max(mel.shape[-1], 2), MEL_FRAMES_PER_WINDOW)]


@dataclass(frozen=True)
class EncoderConfig:
    """Which Whisper encoder to pool, and how to run it."""

    model: str = "tiny.en"
    """A model name known to ``engine.models.registry`` (``tiny.en``, ``base``) or a CTranslate2 directory."""
    compute_type: str = "int8"
    """``int8`` on a CPU (the ASR's choice too), ``float32`` for exact weights; a GPU always runs float16."""
    device: str = "cpu"
    threads: int = 0
    """CPU threads for the encoder; 0: CTranslate2 chooses, or one for ``layers`` (faster here, see layers.threads)."""
    input: Literal["turn", "window"] = "turn"
    """``turn``: each utterance encoded alone, unpadded; ``window``: 30 s windows of the channel (see above)."""
    layers: tuple[int, ...] = ()
    """Pool the states after these encoder layers (1-based, see ``layers.py``), each layer's mean and
    standard deviation side by side; empty: CTranslate2's last-layer output. Needs ``input="turn"``."""
    conv_precision: Literal["auto", "float32", "bfloat16"] = "auto"
    """With ``layers`` on a CPU: the convolutions in front of the layers in bfloat16 where the CPU has it
    natively (``auto``), else float32."""

    def resolved_conv_precision(self) -> str:
        """The convolutions' precision on a CPU (a GPU runs the whole encoder in float16)."""
        if self.conv_precision != "auto":
            return self.conv_precision
        return "bfloat16" if cpu_has_bfloat16() else "float32"

    def cache_key(self) -> dict[str, str]:
        """What changes the pooled vectors (threads do not; a GPU's float16 does)."""
        window = "30s-padded" if self.input == "window" else "turn-unpadded"
        key = {"encoder": self.model, "compute_type": self.compute_type, "window": window}
        if self.layers:
            key = {**key, "layers": ",".join(map(str, self.layers)), "runtime": "transformers"}
            if self.device.startswith("cuda"):
                key["compute_type"] = "float16"
            elif self.resolved_conv_precision() != "float32":
                key["conv"] = self.resolved_conv_precision()
        return key


@dataclass
class ChannelFrames:
    """Encoder states of one channel: ``states[i]`` covers ``[offset + i*0.02, offset + (i+1)*0.02)`` s.

    Rows for windows that were not encoded (no speech asked for there) are NaN.
    """

    states: np.ndarray
    offset: float = 0.0

    @property
    def state_dim(self) -> int:
        return int(self.states.shape[1])

    @property
    def duration(self) -> float:
        return self.states.shape[0] * FRAME_SECONDS

    def pool(self, start: float, end: float) -> np.ndarray:
        """Mean and standard deviation of the states in ``[start, end)`` seconds, concatenated (2 × dim).

        A range shorter than one frame takes the frame it falls in, so a very short turn still
        gets a vector rather than NaN.
        """
        first = int(np.floor((start - self.offset) / FRAME_SECONDS))
        last = int(np.ceil((end - self.offset) / FRAME_SECONDS))
        first = min(max(first, 0), self.states.shape[0] - 1)
        last = min(max(last, first + 1), self.states.shape[0])
        block = self.states[first:last]
        block = block[~np.isnan(block).any(axis=1)]
        if block.shape[0] == 0:
            raise ValueError(f"no encoder states in [{start:.2f}, {end:.2f}) s: that window was not encoded")
        return np.concatenate([block.mean(axis=0), block.std(axis=0)]).astype(np.float32)


def _load_whisper(config: EncoderConfig):  # -> faster_whisper.WhisperModel
    from faster_whisper import WhisperModel

    from engine.models.registry import resolve_whisper_model

    path: Path = resolve_whisper_model(config.model)
    return WhisperModel(str(path), device=config.device, compute_type=config.compute_type, cpu_threads=config.threads)


class EncoderFeatures:
    """Pooled Whisper-encoder vectors for clips and for time ranges of a channel.

    Give ``model`` to share a ``faster_whisper.WhisperModel`` that the ASR stage has loaded already.
    """

    def __init__(self, config: EncoderConfig | None = None, model: object | None = None) -> None:
        self.config = config or EncoderConfig()
        self._layers: WhisperLayers | None = None
        if self.config.layers:
            if self.config.input != "turn":
                raise ValueError("encoder layers are pooled per turn only (input: turn), not over 30 s windows")
            from faster_whisper.feature_extractor import FeatureExtractor

            from engine.models.registry import resolve_whisper_model

            device = "cuda" if self.config.device.startswith("cuda") else "cpu"
            self._layers = WhisperLayers(resolve_whisper_model(self.config.model), self.config.layers,
                                         device=device,
                                         compute_type="float16" if device == "cuda" else self.config.compute_type,
                                         conv_precision=self.config.resolved_conv_precision())
            self._mel = FeatureExtractor(feature_size=self._layers.mel_bins)
            return
        self._whisper = model if model is not None else _load_whisper(self.config)

    @property
    def dim(self) -> int:
        """Length of a pooled vector (mean and std of the states, per layer pooled)."""
        if self._layers is not None:
            return 2 * self._layers.width * len(self._layers.layers)
        return 2 * self._state_dim()

    def _state_dim(self) -> int:
        if not hasattr(self, "_dim"):
            self._dim = int(self._encode_window(np.zeros((80, MEL_FRAMES_PER_WINDOW), np.float32)).shape[1])
        return self._dim

    def _encode_window(self, mel: np.ndarray) -> np.ndarray:
        import ctranslate2

        batch = np.ascontiguousarray(mel[None], dtype=np.float32)
        output = self._whisper.model.encode(ctranslate2.StorageView.from_array(batch), to_cpu=True)
        return np.array(output)[0]

    def for_channel(
        self, audio: np.ndarray, speech: Sequence[tuple[float, float]] | None = None
    ) -> ChannelFrames:
        """Encode a 16 kHz channel in 30 s windows; only windows overlapping ``speech`` when it is given.

        The log-mel spectrogram is computed over the whole channel at once, as faster-whisper's own
        ``transcribe`` does (its level normalisation is relative to the loudest frame of the input),
        and the last window is zero-padded to 30 s like a single clip is.
        """
        extractor = self._whisper.feature_extractor
        mel = extractor(np.asarray(audio, dtype=np.float32))[..., :-1]
        n_windows = max(1, int(np.ceil(mel.shape[-1] / MEL_FRAMES_PER_WINDOW)))
        states: np.ndarray | None = None
        for w in range(n_windows):
            w_start, w_end = w * WINDOW_SECONDS, (w + 1) * WINDOW_SECONDS
            if speech is not None and not any(s < w_end and e > w_start for s, e in speech):
                continue
            window = mel[:, w * MEL_FRAMES_PER_WINDOW : (w + 1) * MEL_FRAMES_PER_WINDOW]
            if window.shape[-1] < MEL_FRAMES_PER_WINDOW:
                window = np.pad(window, ((0, 0), (0, MEL_FRAMES_PER_WINDOW - window.shape[-1])))
            out = self._encode_window(window)
            if states is None:
                states = np.full((n_windows * STATES_PER_WINDOW, out.shape[1]), np.nan, dtype=np.float32)
            states[w * STATES_PER_WINDOW : (w + 1) * STATES_PER_WINDOW] = out
        if states is None:
            states = np.full((n_windows * STATES_PER_WINDOW, self._state_dim()), np.nan, dtype=np.float32)
        # Past the end of the audio the states describe padding, not the speaker.
        n_real = int(np.ceil(len(audio) / SAMPLE_RATE / FRAME_SECONDS))
        return ChannelFrames(states=states[: max(n_real, 1)])

    def _layer_vectors(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Pooled layer vectors of clips, on ``config.threads`` intra-op threads (0: one on a CPU)."""
        assert self._layers is not None
        with threads(self.config.threads or (1 if self._layers.device == "cpu" else 0)):
            return [self._pooled_layers(clip) for clip in clips]

    def _pooled_layers(self, audio: np.ndarray) -> np.ndarray:
        assert self._layers is not None
        mel = self._mel(np.asarray(audio, dtype=np.float32))[..., :-1]
        pieces = [self._layers.states(piece) for piece in mel_pieces(mel)]
        pooled = []
        for k in range(len(self._layers.layers)):
            states = np.concatenate([piece[k] for piece in pieces])
            pooled += [states.mean(axis=0), states.std(axis=0)]
        return np.concatenate(pooled).astype(np.float32)

    def for_clip(self, audio: np.ndarray) -> np.ndarray:
        """Pooled vector of a whole clip (one utterance), made the way ``config.input`` says."""
        if self._layers is not None:
            return self._layer_vectors([audio])[0]
        if self.config.input == "window":
            return self.for_channel(audio).pool(0.0, len(audio) / SAMPLE_RATE)
        mel = self._whisper.feature_extractor(np.asarray(audio, dtype=np.float32))[..., :-1]
        states = np.concatenate([self._encode_window(piece) for piece in mel_pieces(mel)])
        return np.concatenate([states.mean(axis=0), states.std(axis=0)]).astype(np.float32)

    def for_turns(self, channel: np.ndarray, spans: Sequence[tuple[float, float]]) -> list[np.ndarray]:
        """Pooled vectors of ``(start, end)`` ranges (seconds) of a 16 kHz channel, made as ``config.input`` says."""
        if self.config.input == "window":
            frames = self.for_channel(channel, speech=spans)
            return [frames.pool(start, end) for start, end in spans]
        pieces = [span_audio(channel, start, end) for start, end in spans]
        if self._layers is not None:
            return self._layer_vectors(pieces)
        return [self.for_clip(piece) for piece in pieces]
