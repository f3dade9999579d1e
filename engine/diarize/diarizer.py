"""The model-holding ``Diarizer``: load once, diarize many calls (a Ray actor can hold one).

Stereo calls are split by channel (no model but the VAD); mono calls go through the configured
pyannote pipeline, loaded on first use so that a batch of stereo calls never pays for it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol

import numpy as np
import torch
from pyannote.audio import Pipeline
from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput
from pyannote.core import Annotation, Timeline

from engine.diarize.config import DiarizeConfig
from engine.diarize.embedding import CamPlusPlusEmbedding
from engine.diarize.pyannote_backend import CallSpeakerDiarization, build_pipeline, embedding_checkpoint
from engine.diarize.stereo import channel_label, diarize_by_channel
from engine.diarize.voiceprints import load_voiceprints
from engine.runtime import resolve_device

logger = logging.getLogger(__name__)
Method = Literal["stereo", "pyannote"]
# pyannote reports the end of each step through its hook; the time since the previous report is
# that step's cost. The names are pyannote's own steps, renamed as the bench reports them.
PIPELINE_STEPS = {"segmentation": "segmentation", "speaker_counting": "segmentation",
                  "embeddings": "embeddings", "discrete_diarization": "clustering"}


class RecordingLike(Protocol):
    samples: np.ndarray
    channel_ids: list[int]
    sample_rate: int

    def mono(self) -> np.ndarray: ...


@dataclass
class Diarization:
    """Who spoke when in one call."""

    annotation: Annotation
    """overlap-aware: overlapping speech carries both speakers"""
    exclusive: Annotation
    """one speaker at a time (where two overlap, the more likely one): for giving words to speakers"""
    method: Method
    speaker_channels: dict[str, int] = field(default_factory=dict)
    """stereo: speaker label -> original channel index"""
    speaker_embeddings: dict[str, np.ndarray] = field(default_factory=dict)
    """mono: the centroid embedding of each speaker (for enrolled voiceprints)"""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        return sorted(self.annotation.labels())


class StepTimer:
    """A pyannote pipeline hook that times each step."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, step: str, artefact: Any, file: Any = None, total: int | None = None,
                 completed: int | None = None) -> None:
        if total is not None or step not in PIPELINE_STEPS:
            return  # progress within a step
        now = time.perf_counter()
        name = PIPELINE_STEPS[step]
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.last
        self.last = now

    def finish(self) -> dict[str, float]:
        now = time.perf_counter()
        self.seconds["reconstruction"] = now - self.last
        self.seconds["total"] = now - self.started
        return {k: round(v, 4) for k, v in self.seconds.items()}


class Diarizer:
    """Holds the diarization models for one configuration."""

    def __init__(self, config: DiarizeConfig | None = None, device: str | None = None) -> None:
        self.config = config or DiarizeConfig()
        self.device = torch.device(resolve_device(device or self.config.device))

    @cached_property
    def pipeline(self) -> Pipeline:
        return build_pipeline(self.config, self.device)

    @cached_property
    def embedder(self) -> CamPlusPlusEmbedding:
        """CAM++ for voiceprints: the bundled pipeline's own (loaded once for both), else a separate copy."""
        pipeline = self.pipeline if self.config.backend == "pyannote" else self.__dict__.get("pipeline")
        if isinstance(pipeline, CallSpeakerDiarization):
            return pipeline._embedding
        return CamPlusPlusEmbedding(embedding_checkpoint(self.config), device=self.device)

    @cached_property
    def voiceprints(self) -> dict[str, np.ndarray]:
        """Enrolled agent voiceprints (``roles.voiceprints_dir``), embedded once."""
        if not self.config.roles.voiceprints_dir:
            return {}
        return load_voiceprints(self.config.roles.voiceprints_dir, self.embedder)

    def diarize(self, recording: RecordingLike, uri: str = "call", num_speakers: int | None = None) -> Diarization:
        """Stereo by channel when there are two or more live channels, else the pyannote pipeline."""
        if recording.samples.shape[0] >= 2 and self.config.stereo_by_channel:
            return self.by_channel(recording, uri)
        return self.mono(recording.mono(), uri, recording.sample_rate, num_speakers=num_speakers)

    def by_channel(self, recording: RecordingLike, uri: str = "call") -> Diarization:
        started = time.perf_counter()
        annotation = diarize_by_channel(recording.samples, recording.channel_ids, self.config.stereo, uri=uri,
                                        sample_rate=recording.sample_rate)
        channels = {channel_label(c): c for c in recording.channel_ids}
        return Diarization(annotation=annotation, exclusive=exclusive_of(annotation), method="stereo",
                           speaker_channels=channels,
                           timings={"vad": round(time.perf_counter() - started, 4)})

    def mono(self, waveform: np.ndarray, uri: str = "call", sample_rate: int = 16000,
             num_speakers: int | None = None, hook: Callable[..., None] | None = None) -> Diarization:
        """Diarize one mono waveform with the configured pipeline."""
        pipeline = self.pipeline
        timer = StepTimer()

        def both(*args: Any, **kwargs: Any) -> None:
            timer(*args, **kwargs)
            if hook is not None:
                hook(*args, **kwargs)

        file = {"waveform": torch.as_tensor(waveform, dtype=torch.float32).reshape(1, -1),
                "sample_rate": sample_rate, "uri": uri}
        # pyannote warns when fewer speakers are found than asked for (a one-party recording) and its
        # clustering print()s; neither may reach stdout, which carries the CLI's RTTM and JSON.
        chatter = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(chatter):
            warnings.filterwarnings("ignore", message=r"\s*The detected number of speakers")
            output = pipeline(file, hook=both, **self._speaker_hint(num_speakers))
        if chatter.getvalue().strip():
            logger.info("%s: %s", uri, chatter.getvalue().strip())
        timings = timer.finish()
        if isinstance(output, DiarizeOutput):
            annotation, exclusive = output.speaker_diarization, output.exclusive_speaker_diarization
            centroids = output.speaker_embeddings
        else:  # a legacy pipeline returns the annotation alone
            annotation, exclusive, centroids = output, exclusive_of(output), None
        embeddings: dict[str, np.ndarray] = {}
        if centroids is not None:
            embeddings = {str(label): centroids[i] for i, label in enumerate(annotation.labels())}
        annotation.uri = exclusive.uri = uri
        return Diarization(annotation=annotation, exclusive=exclusive, method="pyannote",
                           speaker_embeddings=embeddings, timings=timings)

    def _speaker_hint(self, num_speakers: int | None) -> dict[str, int]:
        exact = num_speakers or self.config.num_speakers
        if exact:
            return {"num_speakers": exact}
        hint = {}
        if self.config.min_speakers:
            hint["min_speakers"] = self.config.min_speakers
        if self.config.max_speakers:
            hint["max_speakers"] = self.config.max_speakers
        return hint


def exclusive_of(annotation: Annotation) -> Annotation:
    """One speaker at a time: an overlap goes to the speaker who already held the floor."""
    overlap = annotation.get_overlap()
    exclusive = Annotation(uri=annotation.uri)
    for segment, track, label in annotation.itertracks(yield_label=True):
        for piece in Timeline([segment]).extrude(overlap):
            exclusive[piece, track] = label
    for region in overlap:
        holders = annotation.crop(region, mode="loose")
        first = min(holders.itertracks(yield_label=True), key=lambda item: item[0].start)
        exclusive[region, "overlap"] = first[2]
    return exclusive.support()
