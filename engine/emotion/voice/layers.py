"""Hidden states of Whisper's inner encoder layers, the voice representation the heads are fitted on.

CTranslate2, which runs the ASR, returns only the encoder's last layer. How something is said is
carried better by the middle layers. Measured here, each layer's states pooled (mean and standard
deviation, float32) with a six-class logistic regression (C 0.01) and no prosody, leave-speakers-out, four-class
accuracy per speaker / clip by clip:

==========================  =================  ==================================
states                      RAVDESS actors     CASIA, an unseen Mandarin speaker
==========================  =================  ==================================
tiny.en, last (4 of 4)      .81 / .75          .56 / .48
tiny.en, after layer 2      .89 / .78          .64 / .56
base, last (6 of 6)         .79 / .75          .53 / .44
base, after layer 3         .84 / .79          .72 / .59
==========================  =================  ==================================

So the same weights (the installed CTranslate2 ``model.bin``, float16) are loaded into
``transformers``' ``WhisperEncoder`` and run only as far as the deepest layer asked for, which also
makes it cheaper than the full encoder. ``model.bin`` is read with ``read_ctranslate2``: CTranslate2
writes it (``ModelSpec._serialize``) but has no reader.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# CTranslate2's DataType enum order (include/ctranslate2/types.h); bfloat16 has no numpy type.
_DTYPES: dict[int, type | None] = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: None}
_SUPPORTED_VERSIONS = range(5, 7)


def read_ctranslate2(path: Path | str, prefix: str = "") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 ``model.bin`` whose names start with ``prefix``, as arrays."""
    data = Path(path).read_bytes()
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal offset
        length = take("H")
        value = data[offset: offset + length - 1].decode("utf-8")
        offset += length
        return value

    version = take("I")
    if version not in _SUPPORTED_VERSIONS:
        raise ValueError(f"{path}: CTranslate2 binary version {version}; this reader knows "
                         f"{_SUPPORTED_VERSIONS.start}-{_SUPPORTED_VERSIONS.stop - 1}")
    text()  # spec name
    take("I")  # revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = text()
        shape = [take("I") for _ in range(take("B"))]
        dtype = _DTYPES.get(take("B"))
        size = take("I")
        if name.startswith(prefix):
            if dtype is None:
                raise ValueError(f"{path}: variable {name} is bfloat16, which this reader does not load")
            variables[name] = np.frombuffer(data, dtype=dtype, count=size // np.dtype(dtype).itemsize,
                                            offset=offset).reshape(shape)
        offset += size
    return variables


def _encoder_state_dict(weights: dict[str, np.ndarray], n_layers: int) -> dict[str, object]:
    """CTranslate2 encoder variable names -> ``transformers`` ``WhisperEncoder`` parameter names."""
    import torch

    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(weights[f"encoder/{name}"].astype(np.float32))

    state = {"conv1.weight": t("conv1/weight"), "conv1.bias": t("conv1/bias"),
             "conv2.weight": t("conv2/weight"), "conv2.bias": t("conv2/bias"),
             "embed_positions.weight": t("position_encodings/encodings"),
             "layer_norm.weight": t("layer_norm/gamma"), "layer_norm.bias": t("layer_norm/beta")}
    for i in range(n_layers):
        ct2, hf = f"layer_{i}/", f"layers.{i}."
        # CTranslate2 fuses q, k and v into one projection; Whisper's key has no bias (stored as zeros).
        q, k, v = t(ct2 + "self_attention/linear_0/weight").chunk(3)
        bq, _, bv = t(ct2 + "self_attention/linear_0/bias").chunk(3)
        state.update({
            hf + "self_attn.q_proj.weight": q, hf + "self_attn.q_proj.bias": bq,
            hf + "self_attn.k_proj.weight": k,
            hf + "self_attn.v_proj.weight": v, hf + "self_attn.v_proj.bias": bv,
            hf + "self_attn.out_proj.weight": t(ct2 + "self_attention/linear_1/weight"),
            hf + "self_attn.out_proj.bias": t(ct2 + "self_attention/linear_1/bias"),
            hf + "self_attn_layer_norm.weight": t(ct2 + "self_attention/layer_norm/gamma"),
            hf + "self_attn_layer_norm.bias": t(ct2 + "self_attention/layer_norm/beta"),
            hf + "fc1.weight": t(ct2 + "ffn/linear_0/weight"), hf + "fc1.bias": t(ct2 + "ffn/linear_0/bias"),
            hf + "fc2.weight": t(ct2 + "ffn/linear_1/weight"), hf + "fc2.bias": t(ct2 + "ffn/linear_1/bias"),
            hf + "final_layer_norm.weight": t(ct2 + "ffn/layer_norm/gamma"),
            hf + "final_layer_norm.bias": t(ct2 + "ffn/layer_norm/beta"),
        })
    return state


@contextmanager
def threads(intra_op: int) -> Iterator[None]:
    """torch's intra-op threads set to ``intra_op`` inside the block (0: left as they are).

    Measured with the engine's passive OpenMP waiting, on eight 3.3 s turns: one intra-op thread encodes
    them in 0.25 s, two in 0.53 s (a turn's few hundred frames are too little work to share out). Two
    turns at a time, one thread each, gained nothing on an idle machine (0.12 s either way).
    """
    import torch

    previous = torch.get_num_threads()
    if intra_op and intra_op != previous:
        torch.set_num_threads(intra_op)
    try:
        yield
    finally:
        if intra_op and intra_op != previous:
            torch.set_num_threads(previous)


class WhisperLayers:
    """A Whisper encoder from a CTranslate2 directory, returning the states after chosen layers.

    ``layers`` are 1-based ("after layer 2"); asking for the last layer gives what CTranslate2's
    ``encode`` gives (the final layer norm applied). Layers past the deepest one asked for are not run.

    ``compute_type``: ``int8`` quantises the linear layers' weights on a CPU (as CTranslate2 does for
    the ASR; pooled vectors correlate 0.997-0.999 with float32 ones, at 60 % of the time), ``float16``
    runs a GPU in half precision, ``float32`` anywhere.

    ``conv_precision``: the two convolutions in front of the layers (which int8 does not cover) on a
    CPU, ``float32`` or ``bfloat16``. Measured on eight turns of a call, bfloat16 (native AVX-512 BF16)
    takes 0.009 s against 0.017 s, pooled vectors correlate > 0.9999 with float32 convolutions.
    """

    def __init__(self, model_dir: Path | str, layers: Sequence[int], device: str = "cpu",
                 compute_type: str = "float32", conv_precision: str = "float32") -> None:
        import torch
        from transformers import WhisperConfig
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        weights = read_ctranslate2(Path(model_dir) / "model.bin", prefix="encoder/")
        total = len({m.group(1) for name in weights if (m := re.match(r"encoder/layer_(\d+)/", name))})
        if not layers or min(layers) < 1 or max(layers) > total:
            raise ValueError(f"encoder layers {list(layers)} asked for; this model has layers 1-{total}")
        self.layers = tuple(sorted(set(layers)))
        self.total = total
        width = int(weights["encoder/conv1/weight"].shape[0])
        config = WhisperConfig(
            d_model=width, encoder_layers=total, encoder_attention_heads=int(weights["encoder/num_heads"]),
            encoder_ffn_dim=int(weights["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
            num_mel_bins=int(weights["encoder/conv1/weight"].shape[1]),
            max_source_positions=int(weights["encoder/position_encodings/encodings"].shape[0]),
        )
        encoder = WhisperEncoder(config)
        encoder.load_state_dict(_encoder_state_dict(weights, total), strict=False)
        encoder.layers = encoder.layers[: max(self.layers)]
        encoder = encoder.eval().to(device)
        if compute_type == "int8" and device == "cpu":
            import warnings

            with warnings.catch_warnings():  # torch 2.9 announces the move of this API to torchao
                warnings.simplefilter("ignore", DeprecationWarning)
                encoder = torch.ao.quantization.quantize_dynamic(encoder, {torch.nn.Linear}, dtype=torch.qint8)
        elif compute_type == "float16" and device != "cpu":
            encoder = encoder.half()
        if conv_precision not in ("float32", "bfloat16"):
            raise ValueError(f"conv_precision {conv_precision!r}: expected 'float32' or 'bfloat16'")
        self.conv_dtype = torch.bfloat16 if device == "cpu" and conv_precision == "bfloat16" else None
        if self.conv_dtype is not None:
            encoder.conv1.to(self.conv_dtype)
            encoder.conv2.to(self.conv_dtype)
        self.encoder = encoder
        self.dtype = torch.float16 if compute_type == "float16" and device != "cpu" else torch.float32
        self.device = device
        self.width = width
        self.mel_bins = config.num_mel_bins

    def states(self, mel: np.ndarray) -> list[np.ndarray]:
        """``(frames, width)`` states after each of ``self.layers`` for one log-mel input ``(80, ≤3000)``."""
        import torch
        from torch.nn.functional import gelu

        encoder = self.encoder
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(mel, dtype=np.float32))[None].to(self.device, self.dtype)
            if self.conv_dtype is not None:
                x = gelu(encoder.conv2(gelu(encoder.conv1(x.to(self.conv_dtype))))).to(self.dtype)
            else:
                x = gelu(encoder.conv2(gelu(encoder.conv1(x))))
            x = x.permute(0, 2, 1)
            x = x + encoder.embed_positions.weight[: x.shape[1]]
            out = []
            for depth, layer in enumerate(encoder.layers, start=1):
                result = layer(x, attention_mask=None)
                x = result[0] if isinstance(result, tuple) else result
                if depth in self.layers:
                    out.append(encoder.layer_norm(x) if depth == self.total else x)
        return [s[0].float().cpu().numpy() for s in out]
