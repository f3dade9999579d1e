"""Settings of the diarization stage: who spoke when, who is the agent, and how the talk flowed.

Every number a QA lead may want to tune lives here (and in the ``diarize:`` section of
``configs/default.yaml``), never in the code. This module imports nothing from ``engine.config`` so
that the stage can be configured, tested and run on its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Role = Literal["agent", "customer"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentationSettings(_Section):
    """The sliding window of the segmentation model (pyannote segmentation-3.0: 10 s windows)."""

    step: float = Field(
        0.5, gt=0, le=1,
        description="window step as a fraction of the window; pyannote's 0.1 costs ~5x the time for no gain on calls",
    )
    batch_size: int = Field(32, ge=1, description="windows per forward pass")
    min_duration_off: float = Field(0.0, ge=0, description="seconds; shorter gaps inside a speaker's speech are filled")


class EmbeddingSettings(_Section):
    """CAM++ speaker embeddings of each (window, local speaker) pair."""

    model: str = Field("campplus-zh-en", description="model name from `callqa models list`, or a CAM++ .pt state dict")
    batch_size: int = Field(16, ge=1, description="embeddings per forward pass (similar lengths are batched together)")
    exclude_overlap: bool = Field(True, description="embed only the frames where the speaker talks alone, when enough")
    min_seconds: float = Field(0.25, ge=0.05, description="a local speaker with less speech than this is not embedded")
    max_seconds: float = Field(
        3.0, gt=0, description="longer speech of one speaker in one window is cut to its middle this long: "
        "it caps the cost, and keeps away from the window's edges, where speaker changes leak in",
    )


class ClusteringSettings(_Section):
    """pyannote's agglomerative clustering of the embeddings (cosine distance)."""

    method: Literal["average", "centroid", "complete", "median", "single", "ward", "weighted"] = "centroid"
    threshold: float = Field(
        0.8, gt=0, lt=2, description="cosine distance at which clusters stop merging (used when the number of "
        "speakers is not given)",
    )
    min_cluster_size: int = Field(12, ge=1, description="smaller clusters are merged into the nearest large one")


class StereoSettings(_Section):
    """Speech activity per channel, with cross-talk (bleed) given to the louder channel."""

    vad_threshold: float = Field(0.5, gt=0, lt=1, description="silero speech probability")
    min_speech_seconds: float = Field(0.2, ge=0)
    min_silence_seconds: float = Field(0.3, ge=0, description="shorter pauses do not split a stretch of speech")
    speech_pad_seconds: float = Field(0.05, ge=0)
    frame_seconds: float = Field(0.05, gt=0, description="resolution of the bleed comparison")
    bleed_margin_db: float = Field(
        12.0, ge=0, description="where both channels are active, a channel this much quieter is bleed, not speech"
    )


class TurnSettings(_Section):
    """How words become turns."""

    pause_split_seconds: float = Field(
        2.0, gt=0, description="a pause this long inside a speaker's speech starts a new turn"
    )
    word_snap_seconds: float = Field(
        0.5, ge=0, description="a word outside any speech stretch goes to the nearest speaker within this distance"
    )


class VoiceCheckSettings(_Section):
    """Mono calls: each phrase's words heard again against both speakers' voices (``voicecheck.py``)."""

    enabled: bool = Field(True, description="re-check who said each phrase by its voice (mono calls only)")
    phrase_gap_seconds: float = Field(0.25, ge=0, description="a pause this long between words ends a phrase")
    clause_gap_seconds: float = Field(
        1.0, ge=0, description="… except after a comma, where the speaker usually goes on: then a pause this long"
    )
    phrase_max_seconds: float = Field(
        4.0, gt=0, description="a longer phrase is cut at its longest inner pause (a change of speaker hides there)"
    )
    min_phrase_seconds: float = Field(0.5, gt=0, description="shorter phrases are too short to tell a voice by")
    margin: float = Field(
        0.05, ge=0, lt=2, description="cosine lead of the other speaker's voice needed to move a phrase to them"
    )
    passes: int = Field(3, ge=1, description="centroids re-estimated and phrases re-judged at most this often")


class DynamicsSettings(_Section):
    """Overlaps, interruptions, backchannels, silences and holds."""

    silence_notable_seconds: float = Field(3.0, gt=0, description="a gap this long is a notable silence")
    silence_long_seconds: float = Field(5.0, gt=0, description="a gap this long is dead air (unless it is a hold)")
    min_overlap_seconds: float = Field(0.2, ge=0, description="shorter overlaps are ordinary turn-taking")
    backchannel_max_seconds: float = Field(1.2, gt=0, description="a backchannel is shorter than this")
    backchannel_max_words: int = Field(3, ge=1, description="… and has at most this many words (Mandarin: tokens)")
    hold_cue_window_seconds: float = Field(
        15.0, ge=0, description="a notable silence that starts at most this long after a hold cue is a hold"
    )

    @model_validator(mode="after")
    def _long_is_longer(self) -> DynamicsSettings:
        if self.silence_long_seconds < self.silence_notable_seconds:
            raise ValueError("silence_long_seconds must be at least silence_notable_seconds")
        return self


class RoleSettings(_Section):
    """Which speaker is the agent."""

    channel_map: dict[int, Role] = Field(
        default_factory=lambda: {0: "agent", 1: "customer"}, description="stereo: original channel index -> role"
    )
    agent_channel_metadata_key: str = Field(
        "agent_channel", description="recording metadata key naming the agent's channel (overrides channel_map)"
    )
    cue_files: dict[str, str] = Field(
        default_factory=lambda: {"en": "configs/phrases/roles.en.yaml", "zh": "configs/phrases/roles.zh.yaml"},
        description="language -> phrase list (relative paths are from the project root)",
    )
    opening_seconds: float = Field(30.0, gt=0, description="greetings count only this early in the call")
    min_cue_margin: float = Field(1.0, ge=0, description="cue-score lead needed for a confident decision")
    first_speaker_is_agent: bool = Field(
        True, description="without decisive cues, the first speaker is taken as the agent (low confidence)"
    )
    trust_content_over_channel_map: bool = Field(
        False, description="stereo: when the cues clearly disagree with the channel map, follow the cues"
    )
    voiceprints_dir: str | None = Field(
        None, description="enrolled agent voiceprints: <agent id>.npy (CAM++ embedding) or <agent id>.wav/.flac"
    )
    voiceprint_threshold: float = Field(0.6, gt=-1, lt=1, description="cosine similarity that counts as a match")
    agent_id_metadata_key: str = Field("agent_id", description="metadata key: only that agent's voiceprint is tried")


class DiarizeConfig(_Section):
    """The ``diarize:`` section of the engine configuration."""

    backend: str = Field(
        "pyannote",
        description="'pyannote' (bundled segmentation-3.0 + CAM++), a local pyannote pipeline directory or "
        "config.yaml, or a local segmentation checkpoint (directory or .ckpt)",
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: a GPU when there is one")
    stereo_by_channel: bool = Field(True, description="two live channels: one party per channel, no diarizer")
    num_speakers: int | None = Field(2, ge=1, description="exact number of speakers (calls: 2); null to estimate")
    min_speakers: int | None = Field(None, ge=1, description="lower bound when num_speakers is null")
    max_speakers: int | None = Field(None, ge=1, description="upper bound when num_speakers is null")
    segmentation: SegmentationSettings = SegmentationSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    clustering: ClusteringSettings = ClusteringSettings()
    stereo: StereoSettings = StereoSettings()
    turns: TurnSettings = TurnSettings()
    voice_check: VoiceCheckSettings = VoiceCheckSettings()
    dynamics: DynamicsSettings = DynamicsSettings()
    roles: RoleSettings = RoleSettings()

    @model_validator(mode="after")
    def _speaker_bounds(self) -> DiarizeConfig:
        if self.min_speakers and self.max_speakers and self.min_speakers > self.max_speakers:
            raise ValueError("min_speakers must not exceed max_speakers")
        return self
