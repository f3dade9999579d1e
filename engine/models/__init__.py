"""Where the engine's models are on this machine, and how to get the ones that are not."""

from engine.models.registry import (
    ModelEntry,
    available_models,
    ensure_model_dir,
    resolve_whisper_model,
    segmentation_checkpoint,
    speaker_embedding_checkpoint,
)

__all__ = [
    "ModelEntry",
    "available_models",
    "ensure_model_dir",
    "resolve_whisper_model",
    "segmentation_checkpoint",
    "speaker_embedding_checkpoint",
]
