"""Who spoke when, who is the agent, and how the conversation flowed.

Stereo calls: one party per channel (speech activity per channel, bleed given to its source).
Mono calls: pyannote.audio speaker diarization on the bundled segmentation-3.0 and CAM++ weights.
Then words to speakers, turns, roles (agent / customer) and conversation dynamics.

The public names load on first use: ``engine.config`` imports ``engine.diarize.config`` at start-up,
and importing pyannote.audio there would cost every command (``callqa models list`` included) seconds.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

# pyannote.audio warns at import that torchcodec cannot decode files; audio is always passed to it
# in memory here (engine.audio decodes), so the warning says nothing actionable.
warnings.filterwarnings("ignore", message=r"\s*torchcodec is not installed correctly", category=UserWarning)

_PUBLIC = {
    "DiarizeConfig": "engine.diarize.config",
    "Diarization": "engine.diarize.diarizer",
    "Diarizer": "engine.diarize.diarizer",
    "read_rttm": "engine.diarize.rttm",
    "to_rttm": "engine.diarize.rttm",
    "diarize_call": "engine.diarize.stage",
    "run_diarization": "engine.diarize.stage",
}

if TYPE_CHECKING:
    from engine.diarize.config import DiarizeConfig
    from engine.diarize.diarizer import Diarization, Diarizer
    from engine.diarize.rttm import read_rttm, to_rttm
    from engine.diarize.stage import diarize_call, run_diarization


__getattr__ = lazy_exports(__name__, _PUBLIC)


__all__ = ["Diarization", "DiarizeConfig", "Diarizer", "diarize_call", "read_rttm", "run_diarization", "to_rttm"]
