"""The callqa database: calls, analyses, scorecard items, events, alerts, reviews (SQLite or PostgreSQL)."""

from engine.store.config import EventKindsConfig, RiskWeights, SamplingConfig, StoreConfig, kind_matches
from engine.store.store import (
    DONE,
    FAILED,
    NewAlert,
    PendingDelivery,
    SampleCandidate,
    Store,
    StoredCall,
    alert_id,
    call_key,
)

__all__ = [
    "DONE",
    "FAILED",
    "EventKindsConfig",
    "NewAlert",
    "PendingDelivery",
    "RiskWeights",
    "SampleCandidate",
    "SamplingConfig",
    "Store",
    "StoreConfig",
    "StoredCall",
    "alert_id",
    "call_key",
    "kind_matches",
]
