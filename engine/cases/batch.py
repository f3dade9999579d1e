"""The batch's hook: after a batch has stored its calls, the rules promote the candidates among them.

A failure here is logged and never fails the batch: the calls are stored, and ``callqa cases promote``
promotes them later (promotion is idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from engine.cases.config import CasesConfig
from engine.cases.repository import CaseRepository
from engine.store import Store
from engine.summary.config import DriversConfig

log = logging.getLogger(__name__)


def promote_after_batch(store: Store, keys: Iterable[str], config: CasesConfig,
                        drivers: DriversConfig | None = None) -> list[str]:
    """Promote the batch's stored calls (``keys``); returns the new candidates' case ids."""
    if not config.enabled:
        return []
    try:
        return CaseRepository(store, config, drivers=drivers).promote(keys=list(keys)).promoted
    except Exception:  # the batch's own work is done and stored; promotion can be run again on demand
        log.exception("case promotion after the batch failed; run `callqa cases promote` to retry")
        return []
