"""Mandarin comes out in simplified characters, whatever script the model emits.

Whisper often answers Mandarin audio in traditional characters (about half of `base`'s character
errors on AISHELL come from that); OpenCC's table-driven conversion fixes it without touching
other scripts.
"""

from __future__ import annotations

from functools import lru_cache

import opencc


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    return _converter().convert(text)
