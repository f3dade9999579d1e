"""Process-wide runtime settings: offline by default, and the device a model should use."""

from __future__ import annotations

import os
from typing import Literal

OFFLINE_ENV = {
    # No model hub is reachable here, and none should be tried: every model loads from disk.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    # pyannote.audio sends usage telemetry unless told not to.
    "PYANNOTE_METRICS_ENABLED": "0",
    "TOKENIZERS_PARALLELISM": "false",
    # torch's OpenMP threads spin-wait by default; on shared cores that made diarization 5x slower.
    # It must be set before torch is imported, which is why it lives here (engine/__init__ runs this first).
    "OMP_WAIT_POLICY": "PASSIVE",
}


def apply_offline_defaults() -> None:
    """Set the offline flags unless the user set them already."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # no CUDA runtime at all is the ordinary CPU case
        return False


def resolve_device(device: str, has_cuda: bool | None = None) -> Literal["cpu", "cuda"]:
    """``auto`` takes a GPU when one is present and never requires one."""
    has_cuda = cuda_available() if has_cuda is None else has_cuda
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise RuntimeError("runtime.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    return "cuda" if device == "cuda" else "cpu"


def cpu_has_bfloat16() -> bool:
    """Whether this CPU runs bfloat16 matrix products natively (AVX-512 BF16 or AMX), as oneDNN reports it.

    Where it does, bfloat16 halves the weights a small batch must read; where it does not, torch emulates
    it and it is slower than float32.
    """
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def resolve_compute_type(compute_type: str, device: str) -> str:
    """int8 on CPU (fast, accurate enough for Whisper), float16 on a GPU."""
    if compute_type != "auto":
        return compute_type
    return "float16" if device == "cuda" else "int8"


apply_offline_defaults()
