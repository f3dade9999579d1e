"""Enrolled agent voiceprints: CAM++ embeddings of an agent's own recordings.

A voiceprints directory holds, per agent, ``<agent id>.npy`` (an embedding saved by ``enroll``),
or ``<agent id>.wav`` / ``.flac`` / ``…`` (a recording of that agent alone), or a folder
``<agent id>/`` of such recordings (their embeddings are averaged).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.diarize.embedding import CamPlusPlusEmbedding

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a")


def _embed_file(path: Path, embedder: CamPlusPlusEmbedding) -> np.ndarray:
    from engine.audio import load_recording  # decoding is the intake stage's job

    return embedder.embed(load_recording(path).mono())


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def enroll(recordings: list[Path], embedder: CamPlusPlusEmbedding) -> np.ndarray:
    """One voiceprint from recordings of one agent speaking alone (the mean of unit embeddings)."""
    vectors = [_unit(_embed_file(p, embedder)) for p in recordings]
    vectors = [v for v in vectors if np.all(np.isfinite(v))]
    if not vectors:
        raise ValueError(f"no usable speech in {', '.join(map(str, recordings))}")
    return _unit(np.mean(vectors, axis=0))


def load_voiceprints(directory: Path | str, embedder: CamPlusPlusEmbedding) -> dict[str, np.ndarray]:
    """Every enrolled agent in ``directory``: agent id -> unit voiceprint."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ValueError(f"{root}: voiceprints directory not found (diarize.roles.voiceprints_dir)")
    prints: dict[str, np.ndarray] = {}
    for entry in sorted(root.iterdir()):
        if entry.suffix == ".npy":
            prints[entry.stem] = _unit(np.load(entry).astype(np.float32).reshape(-1))
        elif entry.suffix.lower() in AUDIO_SUFFIXES:
            prints[entry.stem] = enroll([entry], embedder)
        elif entry.is_dir():
            files = sorted(p for p in entry.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
            if files:
                prints[entry.name] = enroll(files, embedder)
    return prints
