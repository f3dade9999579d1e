"""Typed errors a user sees: each names the file, the reason and what to do about it."""

from __future__ import annotations


class CallQAError(Exception):
    """Base of every error the engine reports to a user instead of a traceback."""

    reason = "error"

    def __init__(self, source: str, message: str, hint: str = "") -> None:
        self.source = str(source)
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.source}: {self.message}"
        return f"{text}. {self.hint}" if self.hint else text


class IntakeError(CallQAError):
    """A recording that cannot be analysed."""

    reason = "intake"


class MissingFile(IntakeError):
    reason = "missing"


class EmptyFile(IntakeError):
    reason = "empty"


class NotAudio(IntakeError):
    reason = "not_audio"


class CorruptAudio(IntakeError):
    reason = "corrupt"


class TruncatedAudio(IntakeError):
    reason = "truncated"


class TooShort(IntakeError):
    reason = "too_short"


class TooLong(IntakeError):
    reason = "too_long"


class TooLarge(IntakeError):
    reason = "too_large"


class AllSilence(IntakeError):
    reason = "silent"


class ModelNotInstalled(CallQAError):
    """A configured model that is not on this machine."""

    reason = "model_missing"
