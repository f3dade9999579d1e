"""Redaction: card, account, ID and phone numbers, e-mail addresses and the like, masked in the
transcript, everything written from it, and a redacted copy of the audio (``redact:`` in the config)."""
