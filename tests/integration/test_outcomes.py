"""The clinic lead's outcomes through the store (dashboard.outcome_services, issue 22): episodes
discharged in the period, filters, the permission, and the audited CSV without names.

Every test gets a fresh database through the shared `store` fixture (SQLite and PostgreSQL).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from dashboard import episode_services, outcome_services, services
from dashboard.ports import InvalidInputError, PermissionDeniedError
from reports import outcomes as outcomes_pdf
from tests.conftest import pdf_text
from tests.integration.support import audit_rows, make_team, patient_values, visit_values

DAY1 = dt.date(2026, 1, 5)
DAY2 = dt.date(2026, 2, 2)
PERIOD = {"period_start": dt.date(2026, 1, 1), "period_end": dt.date(2026, 3, 31)}


def treat(
    store: Any, clinician: Any, ref: str, pains: tuple[int, int], *, discharged: dt.date | None, **extra: Any
) -> str:
    """A patient of `clinician` (aged 40: no malignancy rule fires when pain stays the same) seen twice
    with these pain scores, discharged on `discharged` (or not)."""
    values = patient_values(patient_ref=ref, birth_date=dt.date(1985, 6, 1), **extra)
    patient = services.register_patient(store, clinician, values)
    for day, pain in zip((DAY1, DAY2), pains, strict=True):
        services.record_visit(store, clinician, patient.saved_id, visit_values(day, pain_nrs=pain))
    if discharged is not None:
        episode_services.discharge(
            store,
            clinician,
            patient.saved_id,
            discharge_date=discharged,
            reason="goals_met",
            today=discharged,
        )
    return patient.saved_id


@pytest.fixture
def clinic(store: Any) -> dict[str, Any]:
    team = make_team(store)
    treat(store, team.clinician, "OUT-1", (7, 2), discharged=dt.date(2026, 3, 1))
    treat(store, team.clinician, "OUT-2", (6, 6), discharged=dt.date(2026, 3, 31))
    treat(store, team.colleague, "OUT-3", (8, 3), discharged=dt.date(2026, 2, 10), given_name="=HYPERLINK(1)")
    treat(store, team.colleague, "OUT-4", (8, 3), discharged=dt.date(2026, 4, 1))  # after the period
    treat(store, team.colleague, "OUT-5", (8, 3), discharged=None)  # in progress
    return {"store": store, "team": team}


def test_the_report_counts_the_episodes_discharged_in_the_period(clinic: dict[str, Any]) -> None:
    report = outcome_services.clinic_report(clinic["store"], clinic["team"].admin, **PERIOD)
    pain = report.outcomes.by_measure["pain_nrs"]
    assert (pain.n_discharged, pain.n_complete, pain.n_improved) == (3, 3, 2)
    assert report.outcomes.in_progress == 1
    by_name = {
        report.clinicians[p.clinician_id or ""]: (p.n, p.n_improved)
        for p in report.outcomes.funnel["pain_nrs"]
    }
    assert by_name == {"Carla Clinician": (2, 1), "Bob Colleague": (1, 1)}
    assert [p.month for p in report.monthly["pain_nrs"]] == [dt.date(2026, m, 1) for m in (1, 2, 3)]
    assert [p.n_complete for p in report.monthly["pain_nrs"]] == [0, 1, 2]


def test_a_clinician_filter_narrows_every_number(clinic: dict[str, Any]) -> None:
    store, team = clinic["store"], clinic["team"]
    filters = outcome_services.OutcomeFilters(clinician_id=team.colleague.id)
    report = outcome_services.clinic_report(store, team.admin, filters=filters, **PERIOD)
    assert report.outcomes.by_measure["pain_nrs"].n_complete == 1
    assert [r.patient_ref for r in report.rows] == ["OUT-3"]


def test_only_an_admin_sees_the_clinic_outcomes(clinic: dict[str, Any]) -> None:
    for who in ("clinician", "readonly"):
        with pytest.raises(PermissionDeniedError):
            outcome_services.clinic_report(clinic["store"], getattr(clinic["team"], who), **PERIOD)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        pytest.param(dt.date(2026, 3, 1), dt.date(2026, 2, 1), "period_end", id="ends_before_it_starts"),
        pytest.param(None, dt.date(2026, 2, 1), "period_start", id="no_first_day"),
        pytest.param(dt.date(2000, 1, 1), dt.date(2026, 2, 1), "period_end", id="longer_than_ten_years"),
    ],
)
def test_a_period_that_cannot_be_reported_is_refused_by_field(
    clinic: dict[str, Any], start: dt.date | None, end: dt.date | None, field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        outcome_services.clinic_report(
            clinic["store"], clinic["team"].admin, period_start=start, period_end=end
        )
    assert set(refused.value.errors) == {field}


def test_the_csv_has_no_names_refs_only_when_asked_and_is_audited(clinic: dict[str, Any]) -> None:
    store, admin = clinic["store"], clinic["team"].admin
    report = outcome_services.clinic_report(store, admin, **PERIOD)
    plain = outcome_services.episode_rows_csv(store, admin, report).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(plain)))
    assert len(rows) == 3 and "patient_ref" not in rows[0]
    assert "OUT-" not in plain and "HYPERLINK" not in plain and "Zoë" not in plain
    assert {r["clinician"] for r in rows} == {"Carla Clinician", "Bob Colleague"}
    assert {r["pain_nrs_judgement"] for r in rows} == {"important_improvement", "no_important_change"}
    with_refs = outcome_services.episode_rows_csv(store, admin, report, include_patient_refs=True).decode(
        "utf-8-sig"
    )
    assert sorted(r["patient_ref"] for r in csv.DictReader(io.StringIO(with_refs))) == [
        "OUT-1",
        "OUT-2",
        "OUT-3",
    ]
    entries = [r for r in audit_rows(store) if r.action == "export.outcomes_csv"]
    assert [e.after["patient_refs"] for e in entries] == [False, True]
    assert all(e.patient_id is None for e in entries)


def test_the_report_pdf_states_the_period_the_results_and_each_clinician_without_patients(
    clinic: dict[str, Any],
) -> None:
    store, admin = clinic["store"], clinic["team"].admin
    report = outcome_services.clinic_report(store, admin, **PERIOD)
    outcome_services.record_report_export(store, admin, report, "pdf")
    text = " ".join(pdf_text(outcomes_pdf.render(report, clinic_name="Fictional Physio")).split())
    assert "episodes discharged 1 January 2026 to 31 March 2026" in text
    assert "3 episodes discharged in the period" in text
    assert "Pain (NRS) 3 3 3 100% 2 67% 21–94%" in text
    assert "Carla Clinician" in text and "Bob Colleague" in text and "within the expected range" in text
    assert "Pain (NRS): trend by month of discharge" in text and "March 2026 2 50% 9–91%" in text
    assert "OUT-" not in text and "Zoë" not in text and "HYPERLINK" not in text
    assert [r.action for r in audit_rows(store)].count("export.outcomes_pdf") == 1


def test_red_flag_timeliness_counts_the_events_raised_in_the_period_per_clinician(store: Any) -> None:
    team = make_team(store)
    today = dt.date.today()
    ces = services.register_patient(store, team.clinician, patient_values(patient_ref="RF-1"))
    services.record_visit(store, team.clinician, ces.saved_id, visit_values(today, saddle_anaesthesia="new"))
    weak = services.register_patient(store, team.colleague, patient_values(patient_ref="RF-2"))
    services.record_visit(
        store, team.colleague, weak.saved_id, visit_values(today, leg_weakness="new", leg_weakness_mrc=4)
    )
    (group,) = [
        g
        for g in services.open_escalation_groups(store, team.clinician)
        if g.patient.saved_id == ces.saved_id
    ]
    services.close_escalation_group(store, team.clinician, group.versions, action="sent_to_ed", detail="")
    period = {"period_start": today - dt.timedelta(days=7), "period_end": today}

    everyone = outcome_services.clinic_report(store, team.admin, **period).timeliness
    assert (everyone["EMERGENCY"].n_events, everyone["EMERGENCY"].n_within) == (1, 1)
    assert (everyone["URGENT"].n_events, everyone["URGENT"].n_pending) == (1, 1)
    colleague = outcome_services.OutcomeFilters(clinician_id=team.colleague.id)
    theirs = outcome_services.clinic_report(store, team.admin, filters=colleague, **period).timeliness
    assert (theirs["EMERGENCY"].n_events, theirs["URGENT"].n_events) == (0, 1)
