"""Declared length of a RIFF/WAVE file, read from its header.

FFmpeg's wav demuxer trusts the file size over the header, so a recording cut off mid-copy decodes
"successfully" to a shorter call. The header's ``data`` chunk size still says how long it should
have been; comparing the two is how a truncated wav is caught.
"""

from __future__ import annotations

import struct
from pathlib import Path

# Recorders write 0xFFFFFFFF (or 0) as the data size while streaming, and some never patch it.
UNKNOWN_SIZES = {0, 0xFFFFFFFF}


def declared_wav_seconds(path: Path) -> float | None:
    """Seconds the header declares, or None when the file is not a plain RIFF/WAVE with sizes set."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            byte_rate = None
            while chunk := handle.read(8):
                if len(chunk) < 8:
                    return None
                chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if chunk_id == b"fmt ":
                    fmt = handle.read(size + (size & 1))
                    if len(fmt) < 12:
                        return None
                    byte_rate = struct.unpack("<I", fmt[8:12])[0]
                elif chunk_id == b"data":
                    if byte_rate in (None, 0) or size in UNKNOWN_SIZES:
                        return None
                    return size / byte_rate
                else:
                    handle.seek(size + (size & 1), 1)
    except OSError:
        return None
    return None
