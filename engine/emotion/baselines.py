"""Agents' voice baselines kept across calls: one JSON file per agent in a folder.

An agent's first turns in a call are judged against their normal voice only if "normal" was learnt
before the call: the store keeps each agent's running statistics (``SpeakerBaseline``: Welford means
and variances, merged call by call with Chan's parallel update) and the emotion stage updates it after
each call. Each file records the voice-feature *layout* (head encoder, blocks, width), so a baseline
built for another head is ignored rather than misread.

Several workers may finish calls of one agent at once: updates take an exclusive lock on a lock file
beside the agent's file and write through a temporary file and a rename, so a reader never sees half a file.
Beyond ``max_utterances`` older calls are down-weighted (counts and sums of squares scaled; the mean and
the variance are kept), so the baseline follows slow changes such as a new headset.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from engine.emotion.voice.baseline import SpeakerBaseline

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def layout_of(head: object) -> str:
    """The vector layout of a ``VoiceEmotionModel``: encoder, blocks and their widths."""
    blocks = ",".join(f"{b}:{head.block_dims[b]}" for b in head.blocks)  # type: ignore[attr-defined]
    # A baseline made from features of another encoder input (whole-channel windows vs single turns)
    # lives in another space, so the input is part of the layout too.
    layers = ",".join(map(str, head.encoder_layers))  # type: ignore[attr-defined]
    return f"{head.encoder}|{head.encoder_input}{'@' + layers if layers else ''}|{blocks}"  # type: ignore[attr-defined]


class AgentBaselineStore:
    """A folder of ``<agent id>.json`` voice baselines."""

    def __init__(self, root: Path | str, max_utterances: int = 2000) -> None:
        self.root = Path(root).expanduser()
        self.max_utterances = max_utterances

    def path(self, agent_id: str) -> Path:
        """The agent's file; ids with characters unsafe in a file name get a hash suffix instead."""
        safe = _SAFE.sub("_", agent_id)
        if safe != agent_id or not safe:
            safe = f"{safe}-{hashlib.sha256(agent_id.encode()).hexdigest()[:8]}"
        return self.root / f"{safe}.json"

    def get(self, agent_id: str, layout: str) -> SpeakerBaseline | None:
        """The stored baseline, or None when there is none for this layout (or the file is damaged)."""
        path = self.path(agent_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # a damaged file is rebuilt by the next update, never trusted
        if data.get("layout") != layout or data.get("agent_id") != agent_id:
            return None
        return SpeakerBaseline.from_json(json.dumps(data["baseline"]))

    def update(self, agent_id: str, layout: str, calls: SpeakerBaseline) -> SpeakerBaseline:
        """Merge one call's statistics into the agent's stored baseline and write it back; returns the result."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(agent_id)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            stored = self.get(agent_id, layout)
            merged = stored.merge(calls) if stored is not None and stored.dim == calls.dim else calls
            merged.speaker = agent_id
            self._forget(merged)
            payload = {
                "kind": "agent_voice_baseline", "version": 1, "agent_id": agent_id, "layout": layout,
                "updated": datetime.now(UTC).isoformat(timespec="seconds"),
                "baseline": json.loads(merged.to_json()),
            }
            fd, staging = tempfile.mkstemp(prefix=".baseline-", suffix=".json", dir=self.root)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out)
            Path(staging).replace(path)
        return merged

    def _forget(self, baseline: SpeakerBaseline) -> None:
        over = baseline.counts > self.max_utterances
        if over.any():
            scale = np.where(over, self.max_utterances / np.maximum(baseline.counts, 1), 1.0)
            baseline.counts = baseline.counts * scale
            baseline.m2 = baseline.m2 * scale
