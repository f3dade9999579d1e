"""The day a call was recorded: what every view by date (summary, sampling, dashboard) files it under.

In order of trust: the call's metadata (``call_start`` from a manifest or sidecar, then the older keys
in ``store.date_keys``); the recorder's own timestamp in the file's container tags (BWF
``origination_date``, RIFF ``ICRD``, MP4 ``creation_time``, ID3/Vorbis ``date``); and only as the last
resort the day the analysis was stored. The basis is kept beside the date, so a call filed under the
processing day can be shown as such rather than passed off as recorded that day.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

RECORDER = "recorder"
PROCESSED = "processed"
# Container tags that recorders write the recording's start into (FFmpeg's names for them).
RECORDER_TAGS = ("origination_date", "creation_time", "date", "icrd", "date_recorded")

log = logging.getLogger(__name__)


def parse_day(value: str | None) -> date | None:
    """The date part of an ISO 8601 date or timestamp (``2026-11-19T09:30:00+01:00`` -> 2026-11-19)."""
    if not value:
        return None
    text = value.strip()
    if len(text) >= 8 and text[:8].isdigit():  # compact forms some recorders write: 20261119T093000
        text = f"{text[:4]}-{text[4:6]}-{text[6:8]}"
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def recorder_day(source: str | Path) -> date | None:
    """The recording day the file's own container tags give, or None (no tags, no file, not audio).

    Reads only the header: the audio is not decoded.
    """
    path = Path(source)
    if not path.is_file():
        return None
    import av  # the audio stack's decoder; imported here so a store that never needs it stays light

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            tags = {k.lower(): v for k, v in container.metadata.items()}
            for stream in container.streams.audio[:1]:
                tags.update({k.lower(): v for k, v in stream.metadata.items() if k.lower() not in tags})
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        log.debug("no recorder timestamp in %s: %s", path, exc)
        return None
    for tag in RECORDER_TAGS:
        day = parse_day(tags.get(tag))
        if day is not None:
            return day
    return None


def recording_day(metadata: Mapping[str, str], source: str | Path | None, keys: Sequence[str],
                  processed: date) -> tuple[date, str]:
    """The call's recording day and what it rests on: a metadata key's name, ``recorder`` or ``processed``."""
    for name in keys:
        day = parse_day(metadata.get(name))
        if day is not None:
            return day, name
    if source:
        day = recorder_day(source)
        if day is not None:
            return day, RECORDER
    return processed, PROCESSED
