"""The catalogue: walking protocols, urgency tiers and instruments, each declared once with its source.

The ground floor of `dashboard/`: it imports nothing of ours. Every module that names a protocol, a
tier or an instrument reads it from here (clinical-reference §2, §7, §9).
"""

from __future__ import annotations

from dashboard.catalogue.instruments import INSTRUMENTS, Instrument, instrument
from dashboard.catalogue.tiers import TIERS, Tier, tier
from dashboard.catalogue.walking import (
    METRIC_PROTOCOL,
    STOP_REASONS,
    WALK_FIELDS,
    WALK_METRICS,
    WALK_PROTOCOLS,
    StopReason,
    WalkField,
    WalkMetric,
    WalkProtocol,
    protocol,
)

__all__ = [
    "INSTRUMENTS",
    "METRIC_PROTOCOL",
    "STOP_REASONS",
    "TIERS",
    "WALK_FIELDS",
    "WALK_METRICS",
    "WALK_PROTOCOLS",
    "Instrument",
    "StopReason",
    "Tier",
    "WalkField",
    "WalkMetric",
    "WalkProtocol",
    "instrument",
    "protocol",
    "tier",
]
