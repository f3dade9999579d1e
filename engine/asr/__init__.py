"""Transcription: faster-whisper words with timestamps and confidence, per channel."""

from engine.asr.chinese import to_simplified
from engine.asr.transcriber import Transcriber, WhisperSettings

__all__ = ["Transcriber", "WhisperSettings", "to_simplified"]
