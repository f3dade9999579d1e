"""RTTM, the interchange format of diarization (NIST): pyannote.core writes it, pyannote.database reads it."""

from __future__ import annotations

import io
from pathlib import Path

from pyannote.core import Annotation
from pyannote.database.util import load_rttm


def to_rttm(annotation: Annotation, uri: str) -> str:
    """The RTTM lines of ``annotation`` with ``uri`` as the recording id (the file's stem, by convention)."""
    named = annotation.copy()
    named.uri = uri
    buffer = io.StringIO()
    named.write_rttm(buffer)
    return buffer.getvalue()


def read_rttm(path: Path | str) -> dict[str, Annotation]:
    """Recording id -> annotation, for every recording in an RTTM file."""
    return load_rttm(str(path))
