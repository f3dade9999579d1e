"""The transcription stage: one model-holding object, words with channel, timestamps and confidence.

Each channel of a stereo call is transcribed on its own (one party per channel), so every word knows
its speaker's channel. Whisper's known failure modes are guarded against with its own thresholds
(no-speech probability, average log-probability, compression ratio) and the bundled Silero VAD, set in
configuration; ``condition_on_previous_text`` is off by default because it is what lets a single
misheard phrase loop for minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.vad import VadOptions

from engine.asr.chinese import to_simplified
from engine.audio import Recording
from engine.config import AsrConfig, RuntimeConfig
from engine.models import resolve_whisper_model
from engine.record import Segment, Transcript, Word
from engine.runtime import resolve_compute_type, resolve_device

log = logging.getLogger(__name__)

ProgressHook = Callable[[float, float], None]
"""Called as ``hook(seconds_done, seconds_total)`` while a recording is transcribed."""


@dataclass(frozen=True)
class WhisperSettings:
    """How one faster-whisper model is loaded."""

    path: Path
    device: str
    compute_type: str
    cpu_threads: int

    @classmethod
    def resolve(cls, name_or_path: str, asr: AsrConfig, runtime: RuntimeConfig,
                model_dirs: dict[str, str] | None = None, has_cuda: bool | None = None) -> WhisperSettings:
        device = resolve_device(runtime.device, has_cuda)
        return cls(
            path=resolve_whisper_model(name_or_path, model_dirs),
            device=device,
            compute_type=resolve_compute_type(asr.compute_type, device),
            cpu_threads=runtime.threads,
        )

    def load(self) -> WhisperModel:
        return WhisperModel(str(self.path), device=self.device, compute_type=self.compute_type,
                            cpu_threads=self.cpu_threads)


class Transcriber:
    """Holds the configured Whisper models (loaded once, lazily) and transcribes recordings."""

    def __init__(self, asr: AsrConfig, runtime: RuntimeConfig, model_dirs: dict[str, str] | None = None,
                 has_cuda: bool | None = None) -> None:
        self.asr = asr
        self.runtime = runtime
        self.model_dirs = model_dirs or {}
        self._has_cuda = has_cuda
        self._models: dict[str, WhisperModel] = {}

    # -- models ---------------------------------------------------------------------------------
    def settings(self, name: str) -> WhisperSettings:
        return WhisperSettings.resolve(name, self.asr, self.runtime, self.model_dirs, self._has_cuda)

    def model(self, name: str) -> WhisperModel:
        if name not in self._models:
            self._models[name] = self.settings(name).load()
        return self._models[name]

    def model_for(self, language: str) -> str:
        """English goes to the fast English model; any other language to the multilingual one."""
        primary = self.asr.model
        if language == "en" or self._is_multilingual(primary):
            return primary
        return self.asr.multilingual_model

    def _is_multilingual(self, name: str) -> bool:
        if name.endswith(".en"):
            return False
        if name in self._models:
            return self._models[name].model.is_multilingual
        return not Path(name).name.endswith(".en")

    # -- language ---------------------------------------------------------------------------------
    def detect_language(self, recording: Recording) -> tuple[str, float]:
        """Language of the call, from the loudest channel's first speech (multilingual model)."""
        name = self.asr.model if self._is_multilingual(self.asr.model) else self.asr.multilingual_model
        loudest = int(np.argmax(recording.channel_levels_db)) if recording.channel_levels_db else 0
        language, probability, _ = self.model(name).detect_language(
            recording.samples[loudest], vad_filter=self.asr.vad_filter,
            language_detection_segments=self.asr.language_detection_segments,
        )
        return language, float(probability)

    # -- transcription ------------------------------------------------------------------------------
    def transcribe(self, recording: Recording, language: str | None = None,
                   progress: ProgressHook | None = None) -> Transcript:
        """Words and segments of every kept channel, in time order."""
        requested = language or self.asr.language
        if requested == "auto":
            language, probability = self.detect_language(recording)
        else:
            language, probability = requested, 1.0
        name = self.model_for(language)
        model = self.model(name)
        if not model.model.is_multilingual and language != "en":
            # An English-only model cannot transcribe Mandarin; never hand it the job silently.
            name = self.asr.multilingual_model
            model = self.model(name)
        words: list[Word] = []
        segments: list[Segment] = []
        total = recording.duration * len(recording.channel_ids)
        for row, channel_id in enumerate(recording.channel_ids):
            offset = row * recording.duration

            def channel_progress(done: float, _offset: float = offset) -> None:
                if progress:
                    progress(_offset + done, total)

            for seg in self._segments(model, recording.samples[row], language, channel_progress):
                if seg.compression_ratio > self.asr.compression_ratio_threshold:
                    log.warning("%s: dropped a repetitive segment at %.1f s on channel %d (compression %.1f)",
                                recording.info.source, seg.start, channel_id, seg.compression_ratio)
                    continue
                text = self._clean(seg.text, language)
                segments.append(Segment(
                    channel=channel_id, start=round(seg.start, 3), end=round(seg.end, 3), text=text,
                    avg_logprob=seg.avg_logprob, no_speech_prob=seg.no_speech_prob,
                    compression_ratio=seg.compression_ratio,
                ))
                for w in seg.words or []:
                    token = self._clean(w.word, language).strip()
                    if not token or w.probability < self.asr.min_word_probability:
                        continue
                    words.append(Word(text=token, start=round(w.start, 3), end=round(w.end, 3),
                                      probability=round(w.probability, 4), channel=channel_id))
        words.sort(key=lambda w: (w.start, w.channel))
        segments.sort(key=lambda s: (s.start, s.channel))
        return Transcript(language=language, language_probability=probability, model=name,
                          words=words, segments=segments)

    def _clean(self, text: str, language: str) -> str:
        if language == "zh" and self.asr.zh_script == "simplified":
            return to_simplified(text)
        return text

    def _segments(self, model: WhisperModel, audio: np.ndarray, language: str,
                  progress: Callable[[float], None]) -> Iterable:
        asr = self.asr
        options = dict(
            language=language if model.model.is_multilingual else None,
            beam_size=asr.beam_size,
            word_timestamps=True,
            vad_filter=asr.vad_filter,
            vad_parameters=VadOptions(min_silence_duration_ms=asr.vad_min_silence_ms),
            no_speech_threshold=asr.no_speech_threshold,
            log_prob_threshold=asr.log_prob_threshold,
            compression_ratio_threshold=asr.compression_ratio_threshold,
            condition_on_previous_text=asr.condition_on_previous_text,
            temperature=list(asr.temperatures),
            hallucination_silence_threshold=asr.hallucination_silence_threshold,
            initial_prompt=asr.zh_initial_prompt if language == "zh" else None,
        )
        if model.model.device == "cuda":
            # On a GPU, batched inference over VAD chunks is several times faster than sequential decoding.
            segments, _ = BatchedInferencePipeline(model).transcribe(audio, batch_size=asr.batch_size, **options)
        else:
            segments, _ = model.transcribe(audio, **options)
        for seg in segments:
            progress(seg.end)
            yield seg
