"""One call's way through the engine: intake, then each stage in order, each timed.

An ``Engine`` holds the loaded models, so a CLI run, a test or a Ray actor loads them once and
analyses many recordings with them. Every model, and every library behind one, is imported and loaded
when a call first needs it: a single ``callqa analyze`` of a stereo call never pays for the mono
diarization pipeline, an English call never for a Mandarin model, a run without emotion never for the
text and voice models (bench/bench_startup.py measures the whole process against faster-whisper alone).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from engine.audio import Recording, load_recording
from engine.config import AppConfig
from engine.record import CallAnalysis, StageTiming

if TYPE_CHECKING:
    # Imported when first used: faster-whisper for transcription, torch and pyannote for diarization,
    # transformers for emotion; a command that needs none of them (or a stereo call that needs no
    # diarization model) does not pay for importing them.
    from engine.asr import Transcriber
    from engine.asr.transcriber import ProgressHook
    from engine.diarize import Diarizer
    from engine.emotion.stage import EmotionAnalyzer
    from engine.redact import Redactor
    from engine.score import Standard


@contextmanager
def timed(analysis: CallAnalysis, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        analysis.timings.append(StageTiming(stage=stage, seconds=round(time.perf_counter() - started, 4)))


class Engine:
    """The loaded models and the configuration they were loaded with."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self._transcriber: Transcriber | None = None
        self._diarizer: Diarizer | None = None
        self._standard: Standard | None = None
        self._emotion: EmotionAnalyzer | None = None
        self._redactor: Redactor | None = None

    @property
    def transcriber(self) -> Transcriber:
        """The ASR models' holder; each Whisper model loads when a call first needs it."""
        if self._transcriber is None:
            from engine.asr import Transcriber

            self._transcriber = Transcriber(self.config.asr, self.config.runtime, self.config.model_dirs)
        return self._transcriber

    @property
    def emotion(self) -> EmotionAnalyzer:
        if self._emotion is None:
            from engine.emotion.stage import EmotionAnalyzer

            self._emotion = EmotionAnalyzer(self.config.emotion, self.config.runtime)
        return self._emotion

    @property
    def diarizer(self) -> Diarizer:
        if self._diarizer is None:
            from engine.diarize import Diarizer

            self._diarizer = Diarizer(self.config.diarize)
        return self._diarizer

    @property
    def standard(self) -> Standard:
        if self._standard is None:
            from engine.score import load_standard

            self._standard = load_standard(self.config.score.standard)
        return self._standard

    @property
    def redactor(self) -> Redactor:
        """The entity rules, loaded (and validated) once."""
        if self._redactor is None:
            from engine.redact import Redactor

            self._redactor = Redactor(self.config.redact)
        return self._redactor

    def intake(self, path: Path | str, call_id: str | None = None,
               metadata: dict[str, str] | None = None) -> tuple[Recording, CallAnalysis]:
        started = time.perf_counter()
        recording = load_recording(path, self.config.audio, call_id=call_id)
        if metadata:
            recording.info.metadata.update(metadata)
        analysis = CallAnalysis(call=recording.info, config_hash=self.config.hash())
        analysis.timings.append(StageTiming(stage="audio", seconds=round(time.perf_counter() - started, 4)))
        return recording, analysis

    def transcribe(self, recording: Recording, analysis: CallAnalysis, language: str | None = None,
                   progress: ProgressHook | None = None) -> CallAnalysis:
        with timed(analysis, "asr"):
            analysis.transcript = self.transcriber.transcribe(recording, language=language, progress=progress)
        return analysis

    def run(self, path: Path | str, language: str | None = None,
            progress: ProgressHook | None = None) -> CallAnalysis:
        """Intake and transcription only (``callqa transcribe``)."""
        recording, analysis = self.intake(path)
        return self.transcribe(recording, analysis, language=language, progress=progress)

    def analyze(self, path: Path | str, call_id: str | None = None, metadata: dict[str, str] | None = None,
                language: str | None = None, progress: ProgressHook | None = None) -> CallAnalysis:
        """Every stage, in order: intake, transcription, diarization and roles, emotion, scoring, redaction.

        Redaction is last, so the checks see the words as said and everything written afterwards is masked.
        """
        recording, analysis = self.intake(path, call_id=call_id, metadata=metadata)
        language = language or analysis.call.metadata.get("language") or None
        self.transcribe(recording, analysis, language=language, progress=progress)
        from engine.diarize import run_diarization
        from engine.score import score_call

        with timed(analysis, "diarize"):
            run_diarization(analysis, recording, self.config.diarize, self.diarizer)
        if self.config.emotion.enabled:
            with timed(analysis, "emotion"):
                self.emotion.run(analysis, recording)
        with timed(analysis, "score"):
            score_call(analysis, self.standard)
        if self.config.redact.enabled:
            with timed(analysis, "redact"):
                self.redactor.run(analysis, recording)
        return analysis


_ENGINES: dict[str, Engine] = {}


def engine_for(config: AppConfig) -> Engine:
    """A shared engine per configuration, so models load once per process."""
    key = config.hash()
    if key not in _ENGINES:
        _ENGINES[key] = Engine(config)
    return _ENGINES[key]
