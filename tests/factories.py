"""Valid domain objects for tests; override any field with keyword arguments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard.models import Patient, Visit

PATIENT_DEFAULTS: dict[str, Any] = {
    "patient_ref": "T-0001",
    "given_name": "Zoë",
    "family_name": "Łukasz-Müller",
    "birth_date": dt.date(1960, 5, 1),
    "sex": "F",
    "symptom_onset": dt.date(2025, 1, 6),
}

VISIT_DEFAULTS: dict[str, Any] = {
    "visit_date": dt.date(2025, 2, 3),
}


def make_patient(**overrides: Any) -> Patient:
    """A valid patient (with non-ASCII names on purpose); `overrides` replace the defaults."""
    return Patient(**{**PATIENT_DEFAULTS, **overrides})


def make_visit(**overrides: Any) -> Visit:
    """A valid visit on 2025-02-03 with nothing measured; `overrides` replace the defaults."""
    return Visit(**{**VISIT_DEFAULTS, **overrides})
