"""Instrument licences: ODI, RMDQ, ZCQ and STarT Back are off until an admin records the licence."""

from __future__ import annotations

from typing import Any

from dashboard.catalogue.instruments import licensed

# Instruments whose wording and use are licensed (clinical-reference §7.10); NPRS and PSFS are always on.
LICENSED_INSTRUMENTS: dict[str, str] = {key: entry.name for key, entry in licensed().items()}
# The Visit field that holds each licensed instrument's item scores.
INSTRUMENT_FIELD: dict[str, str] = {key: entry.visit_field for key, entry in licensed().items()}


def unlicensed_values(values: dict[str, Any], enabled: set[str]) -> dict[str, str]:
    """Field errors for item scores of instruments that are off (so the service refuses them)."""
    return {
        field: f"{LICENSED_INSTRUMENTS[name]} is off until an admin records the clinic's licence."
        for name, field in INSTRUMENT_FIELD.items()
        if name not in enabled and values.get(field) not in (None, [], {})
    }


def enabled_from_meta(meta: dict[str, str | None]) -> set[str]:
    """Instruments that are on, from the stored metadata (all of them on a demo database)."""
    if meta.get("demo") == "true":
        return set(LICENSED_INSTRUMENTS)
    return {name for name in LICENSED_INSTRUMENTS if meta.get(f"licence:{name}")}
