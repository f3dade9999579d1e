"""The voice feature vector of an utterance, and a disk cache of it for clips.

An utterance is described by two blocks: the pooled Whisper-encoder states (``encoder.py``) and
level-invariant prosody (``prosody.py``). A head is fitted on one or both; ``VoiceFeatures`` keeps
them apart so that the head picks the blocks it was fitted on.

Extracting a corpus takes minutes (one encoder pass per clip), a refit should take seconds: vectors
are cached under ``<CALLQA_CACHE>/features/<config>/<sha256 of the file>.npy``, where ``<config>``
names the extractor and hashes everything that changes its output.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.audio.decode import file_hash
from engine.emotion.voice.encoder import SAMPLE_RATE, EncoderConfig, EncoderFeatures, span_audio
from engine.emotion.voice.prosody import ProsodyConfig, prosody_vector
from engine.models.registry import cache_dir

ProgressHook = Callable[[int, int], None]
"""Called as ``hook(done, total)`` while a batch of clips is extracted."""


@dataclass
class VoiceFeatures:
    """The feature blocks of one utterance; a block is None when it was not extracted."""

    encoder: np.ndarray | None = None
    prosody: np.ndarray | None = None

    def block(self, name: str) -> np.ndarray:
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"the head needs the '{name}' features, which were not extracted")
        return value


@dataclass(frozen=True)
class SpeechTrim:
    """Leading and trailing silence cut off a clip before its features are made.

    The engine's turns are bounded by their words (ASR timings), while acted corpus clips hold about a
    second of studio silence around a two-second line (RAVDESS: 3.7 s on average, 2.5 s once trimmed).
    Pooled over the whole clip, that silence dilutes the encoder's mean and standard deviation with
    states no call turn has. A head fitted on trimmed clips sees what it will score; ``callqa emotion``
    trims a whole-file clip the same way for such a head. Measured in docs/voice_emotion.md.
    """

    top_db: float = 40.0
    """Frames quieter than this many dB under the clip's loudest are silence (``librosa.effects.trim``)."""
    pad_seconds: float = 0.15
    """Kept on each side of the speech, as a turn's word timings keep a little air."""

    def apply(self, audio: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
        """The clip from its first to its last non-silent frame, padded; a clip with no sound stays whole."""
        import librosa

        if len(audio) == 0 or not np.any(audio):
            return audio
        _, (start, end) = librosa.effects.trim(audio, top_db=self.top_db, frame_length=512, hop_length=128)
        pad = round(self.pad_seconds * rate)
        return audio[max(0, start - pad): min(len(audio), end + pad)]

    def cache_key(self) -> dict[str, float]:
        return {"top_db": self.top_db, "pad_seconds": self.pad_seconds}

    @classmethod
    def from_dict(cls, data: dict[str, float] | None) -> SpeechTrim | None:
        return None if data is None else cls(float(data["top_db"]), float(data["pad_seconds"]))


def load_clip(path: Path | str) -> np.ndarray:
    """A clip as 16 kHz mono float32 (the corpora here are 16 kHz; others are resampled)."""
    import soundfile as sf

    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        import librosa

        audio = librosa.resample(audio, orig_sr=rate, target_sr=SAMPLE_RATE)
    return np.ascontiguousarray(audio, dtype=np.float32)


class FeatureCache:
    """Vectors on disk, keyed by the clip's content hash and the extractor's configuration."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_dir() / "features"

    @staticmethod
    def config_name(kind: str, config: dict[str, object]) -> str:
        digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
        return f"{kind}-{digest}"

    def _path(self, config_name: str, content_hash: str) -> Path:
        return self.root / config_name / content_hash[:2] / f"{content_hash}.npy"

    def get(self, config_name: str, content_hash: str) -> np.ndarray | None:
        path = self._path(config_name, content_hash)
        return np.load(path) if path.exists() else None

    def put(self, config_name: str, content_hash: str, vector: np.ndarray) -> None:
        path = self._path(config_name, content_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".tmp.npy")
        np.save(staging, vector)
        staging.replace(path)  # atomic: a parallel extractor never reads half a file


def _cached(
    paths: Sequence[Path | str],
    kind: str,
    settings: dict[str, object],
    compute: Callable[[np.ndarray], np.ndarray],
    cache: FeatureCache,
    progress: ProgressHook | None,
    trim: SpeechTrim | None = None,
) -> np.ndarray:
    """``compute`` of each clip (cut to its speech first when ``trim`` is given), cached under the extractor's
    ``kind`` and ``settings`` and the trim, so trimmed and whole clips never share a folder."""
    config_name = FeatureCache.config_name(kind, settings if trim is None else {**settings, "trim": trim.cache_key()})
    vectors: list[np.ndarray] = []
    for i, path in enumerate(paths):
        key = file_hash(Path(path))
        vector = cache.get(config_name, key)
        if vector is None:
            audio = load_clip(path)
            vector = compute(trim.apply(audio) if trim else audio)
            cache.put(config_name, key, vector)
        vectors.append(vector)
        if progress:
            progress(i + 1, len(paths))
    return np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)


def encoder_vectors(
    paths: Sequence[Path | str],
    config: EncoderConfig,
    cache: FeatureCache | None = None,
    progress: ProgressHook | None = None,
    extractor: EncoderFeatures | None = None,
    trim: SpeechTrim | None = None,
) -> np.ndarray:
    """Pooled encoder vectors of clips (trimmed first when ``trim`` is given), one row each; the model is
    loaded only if a clip is not cached."""
    cache = cache or FeatureCache()
    holder: list[EncoderFeatures] = [extractor] if extractor else []

    def compute(audio: np.ndarray) -> np.ndarray:
        if not holder:
            holder.append(EncoderFeatures(config))
        return holder[0].for_clip(audio)

    return _cached(paths, "encoder", config.cache_key(), compute, cache, progress, trim)


def prosody_vectors(
    paths: Sequence[Path | str],
    config: ProsodyConfig,
    cache: FeatureCache | None = None,
    progress: ProgressHook | None = None,
    trim: SpeechTrim | None = None,
) -> np.ndarray:
    """Prosody vectors of clips (trimmed first when ``trim`` is given), one row each."""
    cache = cache or FeatureCache()
    return _cached(paths, "prosody", config.cache_key(), lambda audio: prosody_vector(audio, config), cache,
                   progress, trim)


class VoiceFeatureExtractor:
    """Both feature blocks for a clip, or for turns (time ranges) of a call channel.

    ``VoiceFeatureExtractor.for_head(model)`` builds the one a fitted head needs (same blocks, same
    Whisper encoder). Pass ``whisper`` to reuse a ``faster_whisper.WhisperModel`` already loaded
    for ASR when it is the same model.
    """

    def __init__(
        self,
        blocks: Sequence[str] = ("encoder", "prosody"),
        encoder: EncoderConfig | None = None,
        prosody: ProsodyConfig | None = None,
        whisper: object | None = None,
        trim: SpeechTrim | None = None,
    ) -> None:
        unknown = set(blocks) - {"encoder", "prosody"}
        if unknown:
            raise ValueError(f"unknown feature blocks {sorted(unknown)} (known: encoder, prosody)")
        self.blocks = tuple(blocks)
        self.encoder_config = encoder or EncoderConfig()
        self.prosody_config = prosody or ProsodyConfig()
        self.trim = trim
        """How a whole clip is cut to its speech (``clip``), as the head's training clips were; turns are not."""
        self._whisper = whisper
        self._encoder: EncoderFeatures | None = None

    @classmethod
    def for_head(cls, head: object, whisper: object | None = None, threads: int = 0,
                 device: str = "cpu") -> VoiceFeatureExtractor:
        """The extractor whose vectors ``head`` (a ``VoiceEmotionModel``) was fitted on."""
        config = EncoderConfig(model=head.encoder, input=head.encoder_input, threads=threads,  # type: ignore[attr-defined]
                               layers=tuple(head.encoder_layers), device=device)  # type: ignore[attr-defined]
        return cls(blocks=head.blocks, encoder=config, whisper=whisper,  # type: ignore[attr-defined]
                   trim=SpeechTrim.from_dict(head.clip_trim))  # type: ignore[attr-defined]

    @property
    def encoder(self) -> EncoderFeatures:
        if self._encoder is None:
            self._encoder = EncoderFeatures(self.encoder_config, model=self._whisper)
        return self._encoder

    def clip(self, audio: np.ndarray) -> VoiceFeatures:
        """Features of one utterance given as its own 16 kHz clip (cut to its speech if the head's clips were)."""
        if self.trim is not None:
            audio = self.trim.apply(np.asarray(audio, dtype=np.float32))
        return VoiceFeatures(
            encoder=self.encoder.for_clip(audio) if "encoder" in self.blocks else None,
            prosody=prosody_vector(audio, self.prosody_config) if "prosody" in self.blocks else None,
        )

    def turns(self, channel: np.ndarray, spans: Sequence[tuple[float, float]]) -> list[VoiceFeatures]:
        """Features of each ``(start, end)`` range (seconds) of one 16 kHz channel.

        The encoder input (each turn alone, or 30 s windows) is the one the head was fitted on.
        """
        pooled = self.encoder.for_turns(channel, spans) if "encoder" in self.blocks else [None] * len(spans)
        out = []
        for (start, end), vector in zip(spans, pooled, strict=True):
            piece = span_audio(channel, start, end)
            out.append(VoiceFeatures(
                encoder=vector,
                prosody=prosody_vector(piece, self.prosody_config) if "prosody" in self.blocks else None,
            ))
        return out
