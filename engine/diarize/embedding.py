"""CAM++ speaker embeddings (3D-Speaker, Chinese + English), usable wherever pyannote wants one.

pyannote's own embedding checkpoints cannot be had offline here; CAM++ ships in a package and is
the stronger model for Mandarin calls. The network is speakerlab's own ``CAMPPlus``, loaded strict
from the plain state dict; features are speakerlab's 80-bin Kaldi fbank (dither 0), mean-normalised
over the frames that are embedded (so that a speaker's own frames, not the window's, set the mean).

Two things make it fast enough for calls on two CPU cores:
- fbank is computed once per recording and sliced per window, not once per (window, speaker);
- embeddings of similar length are batched; shorter items are padded by repeating their own frames
  (wespeaker's repeat-padding), which leaves CAM++'s mean/std pooling nearly unchanged.
"""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pyannote.audio.core.inference import BaseInference
from speakerlab.models.campplus.DTDNN import CAMPPlus
from speakerlab.process.processor import FBank

SAMPLE_RATE = 16000
FRAME_SHIFT = 0.01  # Kaldi fbank: 25 ms windows every 10 ms
FRAME_LENGTH = 0.025
DIMENSION = 192
# An enrolment recording is embedded whole, up to this long (CAM++'s memory grows with the length).
ENROLMENT_MAX_SECONDS = 120.0
# Within one batch, the shortest item is at least this fraction of the longest: repeat-padding a
# much shorter item would over-weight its few frames in the pooling.
BATCH_LENGTH_RATIO = 0.7


def load_campplus(checkpoint: Path | str, device: torch.device) -> CAMPPlus:
    """speakerlab's CAM++ network with the weights of ``checkpoint`` (a plain state dict)."""
    network = CAMPPlus(feat_dim=80, embedding_size=DIMENSION)
    state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    network.load_state_dict(state, strict=True)
    return network.eval().to(device)


def _repeat_pad(features: torch.Tensor, length: int) -> torch.Tensor:
    repeats = math.ceil(length / features.shape[0])
    return features.repeat(repeats, 1)[:length]


class CamPlusPlusEmbedding(BaseInference):
    """CAM++ embeddings with the interface pyannote's pipelines expect of an embedding inference."""

    sample_rate = SAMPLE_RATE
    frame_shift = FRAME_SHIFT
    dimension = DIMENSION
    metric = "cosine"

    def __init__(self, checkpoint: Path | str, device: torch.device | None = None, batch_size: int = 16,
                 min_seconds: float = 0.25, max_seconds: float = 10.0) -> None:
        self.checkpoint = Path(checkpoint)
        self.device = device or torch.device("cpu")
        self.batch_size = batch_size
        self.min_frames = max(1, round(min_seconds / FRAME_SHIFT))
        self.max_frames = max(self.min_frames, round(max_seconds / FRAME_SHIFT))
        self.network = load_campplus(self.checkpoint, self.device)
        self._fbank = FBank(80, SAMPLE_RATE, mean_nor=False)

    def to(self, device: torch.device) -> CamPlusPlusEmbedding:
        self.network.to(device)
        self.device = device
        return self

    @cached_property
    def min_num_samples(self) -> int:
        return round((self.min_frames * FRAME_SHIFT + FRAME_LENGTH) * SAMPLE_RATE)

    def fbank(self, waveform: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(num_frames, 80) log-mel features of a mono waveform, not yet mean-normalised."""
        samples = torch.as_tensor(waveform, dtype=torch.float32).reshape(1, -1)
        if samples.shape[1] < round(FRAME_LENGTH * SAMPLE_RATE):
            return torch.zeros((0, 80))
        return self._fbank(samples, dither=0.0)

    def _select(self, features: torch.Tensor, max_frames: int) -> torch.Tensor | None:
        """Cap to ``max_frames`` (the middle part) and mean-normalise; None when too short to embed."""
        if features.shape[0] < self.min_frames:
            return None
        if features.shape[0] > max_frames:
            offset = (features.shape[0] - max_frames) // 2
            features = features[offset: offset + max_frames]
        return features - features.mean(dim=0, keepdim=True)

    def embed_features(self, items: list[torch.Tensor | None], max_seconds: float | None = None) -> np.ndarray:
        """One embedding per feature matrix; NaN rows for items that are None or too short.

        Each item is cut to its middle ``max_seconds`` (default: the ``max_seconds`` this was built with).
        """
        max_frames = round(max_seconds / FRAME_SHIFT) if max_seconds else self.max_frames
        embeddings = np.full((len(items), DIMENSION), np.nan, dtype=np.float32)
        ready = {i: f for i, item in enumerate(items)
                 if item is not None and (f := self._select(item, max_frames)) is not None}
        order = sorted(ready, key=lambda i: -ready[i].shape[0])
        batch: list[int] = []
        for index in order:
            if batch and (len(batch) == self.batch_size
                          or ready[index].shape[0] < BATCH_LENGTH_RATIO * ready[batch[0]].shape[0]):
                embeddings[batch] = self._forward([ready[i] for i in batch])
                batch = []
            batch.append(index)
        if batch:
            embeddings[batch] = self._forward([ready[i] for i in batch])
        return embeddings

    def _forward(self, features: list[torch.Tensor]) -> np.ndarray:
        length = max(f.shape[0] for f in features)
        stacked = torch.stack([_repeat_pad(f, length) for f in features]).to(self.device)
        with torch.inference_mode():
            return self.network(stacked).float().cpu().numpy()

    def embed(self, waveform: np.ndarray | torch.Tensor, max_seconds: float = ENROLMENT_MAX_SECONDS) -> np.ndarray:
        """The embedding of one recording of one speaker (NaN when it is too short): all of it, up to a limit."""
        return self.embed_features([self.fbank(waveform)], max_seconds=max_seconds)[0]

    def __call__(self, waveforms: torch.Tensor, masks: torch.Tensor | None = None) -> np.ndarray:
        """pyannote's interface: (batch, 1, samples) waveforms and optional (batch, frames) masks."""
        items: list[torch.Tensor | None] = []
        for index, waveform in enumerate(waveforms):
            features = self.fbank(waveform[0])
            if masks is not None:
                items.append(masked_frames(features, masks[index]))
            else:
                items.append(features)
        return self.embed_features(items)


def masked_frames(features: torch.Tensor, mask: torch.Tensor | np.ndarray) -> torch.Tensor:
    """The fbank frames where ``mask`` (on the segmentation model's own frame rate) is on."""
    mask_t = torch.as_tensor(np.asarray(mask, dtype=np.float32))
    if features.shape[0] == 0:
        return features
    resized = F.interpolate(mask_t[None, None], size=features.shape[0], mode="nearest")[0, 0]
    return features[resized > 0.5]
