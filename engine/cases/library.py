"""The library's halves and levels: which half a case is in, how full each level is.

A case's half is a seeded hash of its id alone (``sha256(seed:case id)`` read as a fraction against
``test_share``), never a shuffle of the level: it does not change when other cases are added, removed or
regraded, nor from one run to the next. Each level's halves come out near ``test_share`` of its cases
(exactly so only on average): stability is what the practice needs, since an agent must never be tested
on a case they studied.
"""

from __future__ import annotations

import hashlib

from engine.cases.config import LibraryConfig
from engine.cases.records import Half, LevelStatus

LEVELS = range(1, 6)


def case_half(case_id: str, config: LibraryConfig) -> Half:
    digest = hashlib.sha256(f"{config.seed}:{case_id}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if fraction < config.test_share else "training"


def level_status(counts: dict[tuple[int, str], int], config: LibraryConfig) -> list[LevelStatus]:
    """Per level: accepted cases in each half, against the targets."""
    test_target = round(config.target_per_level * config.test_share)
    return [LevelStatus(level=level, training=counts.get((level, "training"), 0), test=counts.get((level, "test"), 0),
                        target_training=config.target_per_level - test_target, target_test=test_target)
            for level in LEVELS]
