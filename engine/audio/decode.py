"""Decode a call recording to 16 kHz float32, one row per channel, and validate it.

PyAV (FFmpeg) decodes everything a recorder writes — wav (PCM, μ-law, A-law, 8-bit), flac, mp3,
ogg/opus, m4a — with one code path. Channels are kept apart: most contact-centre recorders write
one party per channel, and that separation is worth more than any diarizer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from engine.audio.levels import (
    ChannelLevel,
    SpeechRule,
    channel_levels,
    dead_channels,
    duplicate_channels,
    normalising_gain_db,
)
from engine.audio.voice import VoiceRule
from engine.audio.wav_header import declared_wav_seconds
from engine.config import AudioConfig
from engine.errors import (
    AllSilence,
    CorruptAudio,
    EmptyFile,
    MissingFile,
    NotAudio,
    TooLarge,
    TooLong,
    TooShort,
    TruncatedAudio,
)
from engine.record import CallInfo

TARGET_RATE = 16000
# A decoded stream this much shorter than its header declares was cut off (a crashed recorder,
# an interrupted copy). FFmpeg decodes what is there without complaint, so we compare.
TRUNCATION_TOLERANCE = 0.95
# A gain this large is worth telling the reader of a result: the recording was much quieter than usual.
QUIET_NOTE_DB = 10.0


@dataclass
class Recording:
    """A decoded recording: ``samples[i]`` is original channel ``channel_ids[i]`` at 16 kHz."""

    samples: np.ndarray
    channel_ids: list[int]
    info: CallInfo
    sample_rate: int = TARGET_RATE
    channel_levels_db: list[float] = field(default_factory=list)
    """speech level of each kept channel, as analysed (after ``gain_db``)"""
    channel_floors_db: list[float] = field(default_factory=list)
    """noise floor of each kept channel, as analysed (after ``gain_db``)"""
    gain_db: float = 0.0
    """the gain applied to every channel so its speech sits at ``audio.target_speech_dbfs``"""

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.sample_rate

    def channel(self, channel_id: int) -> np.ndarray:
        return self.samples[self.channel_ids.index(channel_id)]

    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0) if self.samples.shape[0] > 1 else self.samples[0]


def file_hash(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, config: AudioConfig) -> None:
    if not path.exists():
        raise MissingFile(path, "file not found", "Check the path, or that the recording was copied completely")
    if not path.is_file():
        raise NotAudio(path, "not a regular file", "Give a recording file, or a folder to `callqa batch`")
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile(path, "file is empty (0 bytes)", "The recording was not written; fetch it again")
    if size > config.max_file_mb * 1024 * 1024:
        raise TooLarge(
            path, f"file is {size / 2**20:.0f} MB, over the {config.max_file_mb:.0f} MB limit",
            "Split the recording, or raise audio.max_file_mb",
        )


def _declared_duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _decode(path: Path, config: AudioConfig) -> tuple[np.ndarray, CallInfo]:
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        raise NotAudio(path, "not a recognised audio file", "Supported: wav, flac, mp3, ogg/opus, m4a") from None
    except av.error.FFmpegError as exc:
        raise CorruptAudio(path, f"cannot be opened ({exc.strerror or exc})", "The file may be damaged") from None
    with container:
        if not container.streams.audio:
            raise NotAudio(path, "contains no audio stream", "Give the call recording, not a video or document")
        stream = container.streams.audio[0]
        codec = stream.codec_context.name or ""
        source_rate = int(stream.rate or 0)
        source_channels = int(stream.channels or 0)
        if source_rate <= 0 or source_channels <= 0:
            raise CorruptAudio(path, "audio header has no sample rate or channel count", "The file may be damaged")
        declared = declared_wav_seconds(path) or _declared_duration(container, stream)
        if declared is not None and declared > config.max_duration:
            raise TooLong(
                path, f"recording is {declared / 60:.1f} min, over the {config.max_duration / 60:.0f} min limit",
                "Split it, or raise audio.max_duration",
            )
        # Planar float keeps each channel in its own row; the layout is kept as it is (no down-mix).
        resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=TARGET_RATE)
        chunks: list[np.ndarray] = []
        decoded_samples = 0
        limit = int(config.max_duration * TARGET_RATE)
        try:
            for frame in container.decode(stream):
                frame.pts = None  # the resampler re-times frames itself; broken pts must not stop it
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray()
                    chunks.append(chunk)
                    decoded_samples += chunk.shape[1]
                if decoded_samples > limit:
                    raise TooLong(
                        path, f"recording is over the {config.max_duration / 60:.0f} min limit",
                        "Split it, or raise audio.max_duration",
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            if not chunks:
                raise CorruptAudio(path, f"audio data cannot be decoded ({exc.strerror or exc})",
                                   "The file is damaged; fetch it again") from None
            raise TruncatedAudio(path, f"decoding stopped part-way ({exc.strerror or exc})",
                                 "The file is damaged or was cut off; fetch it again") from None
        container_name = container.format.name if container.format else ""
    if not chunks:
        raise CorruptAudio(path, "no audio could be decoded", "The file is damaged or holds no samples")
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    decoded = samples.shape[1] / TARGET_RATE
    if declared is not None and declared > 1.0 and decoded < declared * TRUNCATION_TOLERANCE:
        raise TruncatedAudio(
            path, f"file is truncated: header says {declared:.1f} s, only {decoded:.1f} s could be decoded",
            "The recording was cut off; fetch it again",
        )
    info = CallInfo(
        call_id=path.stem,
        source=str(path),
        content_hash="",
        duration=decoded,
        sample_rate=source_rate,
        channels=samples.shape[0],
        source_channels=source_channels,
        codec=codec,
        container=container_name,
    )
    return samples, info


def speech_rule(config: AudioConfig) -> SpeechRule:
    """The configured rule for whether a channel carries speech: its levels, then its voice."""
    voice = VoiceRule(min_seconds=config.voice_min_seconds, min_pitch_range_st=config.voice_pitch_range_st,
                      vad_threshold=config.voice_vad_threshold, scan_seconds=config.voice_scan_seconds,
                      listen_dbfs=config.voice_listen_dbfs) if config.voice_check else None
    return SpeechRule(silence_dbfs=config.silence_dbfs, over_floor_db=config.speech_over_floor_db, voice=voice)


def load_recording(path: Path | str, config: AudioConfig | None = None, call_id: str | None = None) -> Recording:
    """Decode and validate one recording. Raises an ``IntakeError`` naming the file and the reason."""
    config = config or AudioConfig()
    path = Path(path)
    _check_file(path, config)
    samples, info = _decode(path, config)
    info.content_hash = file_hash(path)
    if call_id:
        info.call_id = call_id
    if info.duration < config.min_duration:
        raise TooShort(
            path, f"recording is {info.duration:.2f} s, shorter than {config.min_duration:.2f} s",
            "Nothing to analyse; check the recorder",
        )
    rule = speech_rule(config)
    levels = channel_levels(samples, TARGET_RATE, rule)
    if not any(rule.has_speech(level) for level in levels):
        raise _no_speech(path, levels, rule)
    channel_ids = list(range(samples.shape[0]))
    repeated = duplicate_channels(samples)
    if repeated:
        info.warnings.append(
            f"channel(s) {', '.join(map(str, repeated))} repeat another channel (dual-mono); analysed once"
        )
    dead = [c for c in dead_channels(levels, rule, config.dead_channel_db) if c not in repeated]
    if dead:
        info.warnings.append(
            f"channel(s) {', '.join(map(str, dead))} of {info.source_channels} carry no speech "
            f"({', '.join(_describe(levels[c], rule) for c in dead)}); analysed as a single-party recording "
            f"of the other channel. Check the recorder's wiring for this line"
        )
    if dead or repeated:
        live = [c for c in channel_ids if c not in dead and c not in repeated]
        samples = samples[live]
        channel_ids = live
        levels = [levels[c] for c in live]
    info.channels = len(channel_ids)
    gain = 0.0
    if config.target_speech_dbfs is not None:
        gain = normalising_gain_db(levels, rule, config.target_speech_dbfs, config.max_gain_db)
        samples *= np.float32(10 ** (gain / 20))  # in place: a 4 h stereo call is 1.8 GB of float32
        if gain >= QUIET_NOTE_DB:
            info.warnings.append(
                f"recording is quiet (speech at {max(level.speech_db for level in levels):.0f} dBFS); "
                f"raised by {gain:+.0f} dB before analysis"
            )
    info.gain_db = round(gain, 2)
    return Recording(samples=samples, channel_ids=channel_ids, info=info, gain_db=round(gain, 2),
                     channel_levels_db=[round(level.speech_db + gain, 2) for level in levels],
                     channel_floors_db=[round(level.floor_db + gain, 2) for level in levels])


def _describe(level: ChannelLevel, rule: SpeechRule) -> str:
    verdict = rule.verdict(level)
    if verdict == "silent":
        return f"silent, {level.speech_db:.0f} dBFS"
    if verdict == "steady":
        return f"steady noise at {level.floor_db:.0f} dBFS"
    return f"{level.speech_db:.0f} dBFS, echo of the other side"


def _no_speech(path: Path, levels: list[ChannelLevel], rule: SpeechRule) -> AllSilence:
    """The named error of a recording none of whose channels holds speech: silent, or steady noise only."""
    loudest = max(levels, key=lambda level: level.speech_db)
    if rule.verdict(loudest) == "silent":
        return AllSilence(
            path, f"recording is silent (loudest level {loudest.speech_db:.0f} dBFS, below "
            f"{rule.silence_dbfs:.0f} dBFS)", "Check the recorder's input; nothing was captured",
        )
    heard = ""
    if rule.voice is not None and loudest.voice is not None:
        voice = loudest.voice
        heard = (f"; no voice heard either: {voice.speech_seconds:.1f} s of speech, "
                 f"{voice.voiced_seconds or 0.0:.1f} s voiced with its pitch moving {voice.pitch_range_st or 0.0:.1f} "
                 f"semitones; a voice has {rule.voice.min_seconds:.1f} s of either, voicing moving "
                 f"{rule.voice.min_pitch_range_st:.0f} semitones")
    return AllSilence(
        path, f"recording holds only steady noise, no speech (a hum or hiss at {loudest.floor_db:.0f} dBFS; "
        f"its loudest moments are {loudest.contrast_db:.1f} dB above it, speech rises at least "
        f"{rule.over_floor_db:.0f} dB{heard})", "Check the recorder's input: only line noise was captured",
    )
