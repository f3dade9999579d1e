"""The graded voice-case library: notable calls promoted into annotated training cases (``cases:``).

Public surface: ``CaseRepository`` (promotion, the trainer's decisions, search, agents' assessments over the
store), the records of ``engine.cases.records``, and ``export_case``. Names load on first use: ``engine.config``
imports ``engine.cases.config`` at start-up, and the rest brings in the scoring and the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.cases.config import CaseRules, CasesConfig, load_case_rules
from engine.lazy import lazy_exports

_LAZY = {
    "CaseError": "engine.cases.repository",
    "CaseRepository": "engine.cases.repository",
    "PromotionReport": "engine.cases.repository",
    "case_id_for": "engine.cases.repository",
    "export_case": "engine.cases.export",
    "promote_after_batch": "engine.cases.batch",
}

if TYPE_CHECKING:
    from engine.cases.batch import promote_after_batch
    from engine.cases.export import export_case
    from engine.cases.repository import CaseError, CaseRepository, PromotionReport, case_id_for

__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = ["CaseError", "CaseRepository", "CaseRules", "CasesConfig", "PromotionReport", "case_id_for",
           "export_case", "load_case_rules", "promote_after_batch"]
