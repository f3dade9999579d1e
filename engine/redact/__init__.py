"""Redaction: card, account, ID and phone numbers, e-mail addresses and the like, masked in the
transcript, everything written from it, and a redacted copy of the audio (``redact:`` in the config).

The stage loads on first use: ``engine.config`` imports ``engine.redact.config``, and the stage imports the
audio intake, which imports ``engine.config``.
"""

from engine.lazy import lazy_exports

__all__ = ["Redactor", "redaction_summary"]
__getattr__ = lazy_exports(__name__, {"Redactor": "engine.redact.stage", "redaction_summary": "engine.redact.stage"})
