"""Shared bench helpers: where the evaluation data is, and how memory is read."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def shared_data_or_exit() -> Path:
    if not SHARED_DATA.is_dir():
        sys.exit(f"evaluation data not found at {SHARED_DATA}: benchmarks need ../shared/data beside the project")
    return SHARED_DATA


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
