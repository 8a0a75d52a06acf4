"""Valid domain objects for tests; override any field with keyword arguments."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from dashboard.catalogue.instruments import licensed
from dashboard.episodes import EpisodeOutcome
from dashboard.licensed_wording import answer_code
from dashboard.models import Episode, Patient, Visit
from dashboard.patient_reported import (
    DEFAULT_LIFETIME,
    DiaryEntry,
    Invite,
    PatientReport,
    new_token,
    token_hash,
)

PATIENT_DEFAULTS: dict[str, Any] = {
    "patient_ref": "T-0001",
    "given_name": "Zoë",
    "family_name": "Łukasz-Müller",
    "birth_date": dt.date(1960, 5, 1),
    "sex": "F",
    "symptom_onset": dt.date(2025, 1, 6),
}

# The day a factory visit falls on unless a test names its own start (or an explicit visit_date).
FIRST_VISIT_DATE = dt.date(2025, 2, 3)


def make_patient(**overrides: Any) -> Patient:
    """A valid patient (with non-ASCII names on purpose); `overrides` replace the defaults."""
    return Patient(**{**PATIENT_DEFAULTS, **overrides})


def make_visit(day: int = 0, *, start: dt.date = FIRST_VISIT_DATE, **overrides: Any) -> Visit:
    """A valid visit `day` days after `start` with nothing measured; `overrides` replace the defaults.

    A test module with its own calendar binds its start (and any fields every visit of it shares)
    once: `make_visit = functools.partial(factories.make_visit, start=DAY_ONE)`.
    """
    return Visit(**{"visit_date": start + dt.timedelta(days=day), **overrides})


def make_diary_entry(
    day: int,
    during: int,
    *,
    start: dt.date = FIRST_VISIT_DATE,
    before: int = 2,
    morning: int | None = None,
    walked: float = 20,
    **overrides: Any,
) -> DiaryEntry:
    """A diary entry `day` days after `start`: pain `during` the walk, `before` it and the next `morning`."""
    values = {
        "walk_date": start + dt.timedelta(days=day),
        "walked_min": walked,
        "symptom_onset_min": None,
        "pain_before_nrs": before,
        "pain_during_nrs": during,
        "pain_next_morning_nrs": morning,
    }
    return DiaryEntry(**{**values, **overrides})


# A check-in as stored (Visit field names, "not_sure" kept): pain, a reported walk, one PSFS rating,
# saddle numbness yes, a bladder change not sure and no night pain.
REPORT_ANSWERS: dict[str, Any] = {
    "pain_nrs": 6,
    "pain_worst_nrs": 8,
    "walk_protocol": "reported",
    "walk_onset_min": 5.0,
    "walk_total_min": 12.0,
    "walk_stop_reason": "symptoms",
    "psfs": [{"activity": "Walking to the shop", "score": 4}],
    "saddle_anaesthesia": "new",
    "bladder_dysfunction": "not_sure",
    "night_pain": False,
}


def make_patient_report(**overrides: Any) -> PatientReport:
    """A check-in of the default episode sent on 3 Dec 2025 with REPORT_ANSWERS; `overrides` replace."""
    defaults: dict[str, Any] = {
        "id": "report-1",
        "invite_id": "invite-1",
        "patient_id": "patient-1",
        "episode_id": "episode-1",
        "submitted_at": dt.datetime(2025, 12, 3, 9, 30, tzinfo=dt.UTC),
        "answers": REPORT_ANSWERS,
        "urgency": "EMERGENCY",
    }
    return PatientReport(**{**defaults, **overrides})


def make_episode(**overrides: Any) -> Episode:
    """An open episode of the default patient, its onset that of PATIENT_DEFAULTS; `overrides` replace."""
    defaults = {
        "id": "episode-1",
        "patient_id": "patient-1",
        "symptom_onset": PATIENT_DEFAULTS["symptom_onset"],
    }
    return Episode(**{**defaults, **overrides})


def make_episode_outcome(
    *,
    case_mix: dict[str, str | None] | None = None,
    **measures: tuple[float | None, float | None, str | None],
) -> EpisodeOutcome:
    """An episode's outcome with the given measures as (baseline, final, judge_change label); every
    other reported measure empty, as episode_outcome would give it."""
    from dashboard.episodes import OUTCOME_MEASURES, CaseMix, MeasureOutcome

    unknown = set(measures) - set(OUTCOME_MEASURES)
    assert not unknown, f"not reported measures: {unknown}"
    mix = {
        "startback_risk": None,
        "odi_band": None,
        "duration_band": None,
        "age_band": None,
        **(case_mix or {}),
    }
    return EpisodeOutcome(
        measures={m: MeasureOutcome(*measures.get(m, (None, None, None))) for m in OUTCOME_MEASURES},
        case_mix=CaseMix(**mix),
    )


def make_invite(
    created_at: dt.datetime = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC), **overrides: Any
) -> Invite:
    """An open check-in link made at `created_at`, ending after the default lifetime of its kind."""
    kind = overrides.get("kind", "checkin")
    values = {
        "id": "i1",
        "patient_id": "p1",
        "episode_id": "e1",
        "kind": kind,
        "token_hash": token_hash(new_token()),
        "created_at": created_at,
        "expires_at": created_at + DEFAULT_LIFETIME[kind],
        "created_by": "u1",
    }
    return Invite(**{**values, **overrides})


def placeholder_wording(instrument: str = "odi") -> dict[str, Any]:
    """A complete wording file for a licensed instrument in obviously fictional placeholder text.

    Stride ships no instrument wording (clinical-reference §7.10): tests never hold real item text.
    """
    entry = licensed()[instrument]
    items = {
        code: {
            "text": f"Item {code} placeholder",
            "answers": {
                answer_code(value): f"Answer {answer_code(value)} placeholder"
                for value in sorted(entry.allowed[code])  # type: ignore[type-var]
            },
        }
        for code in entry.item_codes
    }
    return {"instrument": instrument, "items": items}


def placeholder_wording_file(instrument: str = "odi", **changes: Any) -> bytes:
    """`placeholder_wording` as the JSON bytes an admin uploads."""
    return json.dumps({**placeholder_wording(instrument), **changes}).encode("utf-8")
