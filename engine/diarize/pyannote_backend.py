"""Mono calls: pyannote.audio's speaker diarization on the bundled models.

``CallSpeakerDiarization`` is pyannote's own ``SpeakerDiarization`` pipeline (segmentation, speaker
counting, clustering, overlap-aware reconstruction: all pyannote's code) with two changes:

- it is built from local weights: the segmentation-3.0 checkpoint and CAM++ embeddings. pyannote's
  constructor would fetch a PLDA and an embedding model from the hub (``community-1``), so it is not
  called; this class sets up the same attributes itself. Without a PLDA for CAM++, clustering is
  pyannote's agglomerative clustering.
- embeddings are computed only for the (window, local speaker) pairs that speak, from one fbank of
  the whole recording, batched by length (see ``embedding.py``). pyannote embeds every pair,
  silent ones included: two thirds of the work on a two-party call.

With a window step of half a window rather than pyannote's tenth, and each speaker's speech in a
window cut to its middle 3 s, a call costs about a third of pyannote's default windows for the same
DER with a collar (``bench/bench_diarize.py``).

The back-end is configuration: ``pyannote`` (the bundled models), a local pyannote pipeline
(a directory with a ``config.yaml``, or the file itself), or a local segmentation checkpoint used in
place of segmentation-3.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from einops import rearrange
from pyannote.audio import Inference, Model, Pipeline
from pyannote.audio.pipelines.clustering import Clustering
from pyannote.audio.pipelines.speaker_diarization import SpeakerDiarization
from pyannote.core import SlidingWindowFeature
from pyannote.pipeline.parameter import ParamDict, Uniform

from engine.diarize.config import DiarizeConfig
from engine.diarize.embedding import FRAME_LENGTH, FRAME_SHIFT, CamPlusPlusEmbedding, masked_frames
from engine.errors import ModelNotInstalled
from engine.models import ensure_model_dir, segmentation_checkpoint

# Clustering that needs neither a PLDA trained for the embedding nor the reference annotation.
SUPPORTED_CLUSTERING = ("AgglomerativeClustering", "KMeansClustering")


class CallSpeakerDiarization(SpeakerDiarization):
    """pyannote's speaker diarization on local segmentation weights and CAM++ embeddings."""

    def __init__(
        self,
        segmentation: Model | str | Path | None = None,
        embedding: CamPlusPlusEmbedding | str | Path | None = None,
        segmentation_step: float = 0.5,
        segmentation_batch_size: int = 32,
        embedding_batch_size: int = 16,
        embedding_exclude_overlap: bool = True,
        embedding_min_seconds: float = 0.25,
        embedding_max_seconds: float = 3.0,
        clustering: str = "AgglomerativeClustering",
        der_variant: dict | None = None,
        legacy: bool = False,
        token: str | None = None,  # accepted (and unused) so that Pipeline.from_pretrained can build it
        cache_dir: str | Path | None = None,
    ) -> None:
        Pipeline.__init__(self)  # not SpeakerDiarization.__init__: its defaults reach for the hub
        if clustering not in SUPPORTED_CLUSTERING:
            raise ValueError(f"clustering must be one of {', '.join(SUPPORTED_CLUSTERING)}, not {clustering!r}")
        self.legacy = legacy
        model = segmentation if isinstance(segmentation, Model) else load_segmentation(segmentation)
        self.segmentation_model = str(segmentation) if isinstance(segmentation, (str, Path)) else "segmentation-3.0"
        self.segmentation_step = segmentation_step
        duration = model.specifications.duration
        self._segmentation = Inference(model, duration=duration, step=segmentation_step * duration,
                                       skip_aggregation=True, batch_size=segmentation_batch_size)
        if model.specifications.powerset:
            self.segmentation = ParamDict(min_duration_off=Uniform(0.0, 1.0))
        else:
            self.segmentation = ParamDict(threshold=Uniform(0.1, 0.9), min_duration_off=Uniform(0.0, 1.0))

        if not isinstance(embedding, CamPlusPlusEmbedding):
            checkpoint = Path(embedding) if embedding else ensure_model_dir("campplus-zh-en")
            embedding = CamPlusPlusEmbedding(checkpoint, batch_size=embedding_batch_size,
                                             min_seconds=embedding_min_seconds, max_seconds=embedding_max_seconds)
        self._embedding = embedding
        self.embedding = str(embedding.checkpoint)
        self.embedding_batch_size = embedding.batch_size
        self.embedding_exclude_overlap = embedding_exclude_overlap
        self.plda = None

        self.klustering = clustering
        self.clustering = Clustering[clustering].value(metric=self._embedding.metric)
        self._expects_num_speakers = self.clustering.expects_num_clusters
        self.der_variant = der_variant or {"collar": 0.0, "skip_overlap": False}

    def default_parameters(self) -> dict[str, Any]:
        return parameters_from(DiarizeConfig())

    def get_embeddings(self, file: Any, binary_segmentations: SlidingWindowFeature, exclude_overlap: bool = False,
                       hook: Any = None) -> np.ndarray:
        """(chunks, local speakers, dimension) embeddings; NaN for local speakers who do not speak."""
        waveform = file["waveform"]
        waveform = (waveform.mean(dim=0) if waveform.ndim == 2 else waveform).float()
        chunks = binary_segmentations.sliding_window
        num_chunks, _, num_speakers = binary_segmentations.data.shape
        # fbank once for the whole call, zero-padded like pyannote pads the last window
        end = round(chunks[num_chunks - 1].end * self._embedding.sample_rate)
        if waveform.shape[0] < end:
            waveform = torch.nn.functional.pad(waveform, (0, end - waveform.shape[0]))
        features = self._embedding.fbank(waveform)
        frames_per_chunk = 1 + int((chunks.duration - FRAME_LENGTH) / FRAME_SHIFT)

        items: list[torch.Tensor | None] = []
        for c in range(num_chunks):
            first = round(chunks[c].start / FRAME_SHIFT)
            chunk_features = features[first: first + frames_per_chunk]
            masks = np.nan_to_num(binary_segmentations.data[c], nan=0.0)
            alone = masks * (masks.sum(axis=1, keepdims=True) < 2)
            for s in range(num_speakers):
                if masks[:, s].sum() == 0:
                    items.append(None)
                    continue
                selected = masked_frames(chunk_features, alone[:, s]) if exclude_overlap else None
                if selected is None or selected.shape[0] < self._embedding.min_frames:
                    selected = masked_frames(chunk_features, masks[:, s])
                items.append(selected)
        embeddings = self._embedding.embed_features(items)
        return rearrange(embeddings, "(c s) d -> c s d", c=num_chunks, s=num_speakers)


def parameters_from(config: DiarizeConfig) -> dict[str, Any]:
    """The pipeline's hyper-parameters, stated explicitly rather than left to defaults."""
    clustering = config.clustering
    return {
        "segmentation": {"min_duration_off": config.segmentation.min_duration_off},
        "clustering": {"method": clustering.method, "threshold": clustering.threshold,
                       "min_cluster_size": clustering.min_cluster_size},
    }


def load_segmentation(checkpoint: str | Path | None) -> Model:
    """A segmentation model from a local directory or checkpoint file (default: segmentation-3.0)."""
    path = Path(checkpoint) if checkpoint else segmentation_checkpoint()
    if not path.exists():
        raise ModelNotInstalled(str(path), "segmentation checkpoint not found",
                                "Give a local pyannote segmentation directory or .ckpt file")
    model = Model.from_pretrained(str(path))
    if model is None:
        raise ModelNotInstalled(str(path), "not a pyannote segmentation checkpoint")
    return model


def _is_pipeline_config(path: Path) -> bool:
    config = path / "config.yaml" if path.is_dir() else path
    if not config.is_file() or config.suffix not in (".yaml", ".yml"):
        return False
    content = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    return isinstance(content, dict) and "pipeline" in content


def build_pipeline(config: DiarizeConfig, device: torch.device) -> Pipeline:
    """The configured diarization pipeline, instantiated and on ``device``."""
    if config.backend == "pyannote":
        pipeline: Pipeline = _bundled_pipeline(config, segmentation=None)
    else:
        path = Path(config.backend).expanduser()
        if not path.exists():
            raise ModelNotInstalled(
                f"diarize.backend '{config.backend}'", "neither 'pyannote' nor a local path",
                "Give 'pyannote', a pyannote pipeline directory (config.yaml) or a segmentation checkpoint",
            )
        if _is_pipeline_config(path):
            loaded = Pipeline.from_pretrained(path)
            if loaded is None:
                raise ModelNotInstalled(str(path), "not a pyannote pipeline")
            pipeline = loaded
        else:
            pipeline = _bundled_pipeline(config, segmentation=path)
    return pipeline.to(device)


def embedding_checkpoint(config: DiarizeConfig) -> Path:
    """The CAM++ state dict: a model name from the registry, or a local .pt file."""
    path = Path(config.embedding.model).expanduser()
    return path if path.is_file() else ensure_model_dir(config.embedding.model)


def _bundled_pipeline(config: DiarizeConfig, segmentation: Path | None) -> CallSpeakerDiarization:
    pipeline = CallSpeakerDiarization(
        segmentation=segmentation,
        embedding=embedding_checkpoint(config),
        segmentation_step=config.segmentation.step,
        segmentation_batch_size=config.segmentation.batch_size,
        embedding_batch_size=config.embedding.batch_size,
        embedding_exclude_overlap=config.embedding.exclude_overlap,
        embedding_min_seconds=config.embedding.min_seconds,
        embedding_max_seconds=config.embedding.max_seconds,
    )
    pipeline.instantiate(parameters_from(config))
    return pipeline
