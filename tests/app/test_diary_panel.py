"""AppTest of the walking diary on the Progress page and of patient-reported escalations on the Red
flags page (clinical-reference §12.2, §12.3): the diary is typed through the patient's services, as a
patient's phone would, and the clinician's pages are driven on a demo clinic.
"""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from dashboard import checkin_services as cs
from dashboard import diary_views, services
from dashboard.config import load_settings
from data.store import SqlStore
from tests.app.test_pages import demo_user, logged_in, open_page, table_with, texts
from tests.factories import PATIENT_DEFAULTS
from tests.integration.support import visit_values

SETTINGS = load_settings()


def patient_with_a_diary(store: SqlStore, *pains_during: int, ref: str = "DIARY-0001") -> str:
    """A new patient seen two weeks ago, with one diary walk a day up to yesterday (pain during each)."""
    user = demo_user(store)
    patient = services.register_patient(store, user, PATIENT_DEFAULTS | {"patient_ref": ref})
    today = dt.date.today()
    services.record_visit(store, user, patient.saved_id, visit_values(today - dt.timedelta(days=14)))
    issued = cs.create_invite(store, user, patient.saved_id, "diary")
    for days_ago, during in zip(range(len(pains_during), 0, -1), pains_during, strict=True):
        entry = cs.add_diary_entry(
            store,
            issued.token,
            {"walked_min": "20", "pain_before_nrs": "2", "pain_during_nrs": str(during)},
            today - dt.timedelta(days=days_ago),
            SETTINGS,
        )
        assert not isinstance(entry, str)
    return patient.saved_id


def everything(at: AppTest) -> str:
    """Every text of the page run: markdown, captions, alerts and headings, as a reader sees them."""
    kinds = ("markdown", "caption", "info", "warning", "error", "subheader")
    return "\n".join(texts(at, kind) for kind in kinds)


def test_a_patient_without_a_diary_gets_no_diary_panel(clinic: SqlStore) -> None:
    patient_id = patient_with_a_diary(clinic)
    at = open_page(logged_in(clinic), "pages/progress.py", patient_id)
    assert diary_views.PANEL_TITLE not in texts(at, "subheader")
    assert "progress_chart_diary" not in [chart.key for chart in at.get("plotly_chart")]


def test_the_progress_page_shows_the_diary_chart_and_table_with_the_light_in_words(clinic: SqlStore) -> None:
    patient_id = patient_with_a_diary(clinic, 2, 4)
    at = open_page(logged_in(clinic), "pages/progress.py", patient_id)
    assert diary_views.PANEL_TITLE in texts(at, "subheader")
    assert "Typed by the patient" in texts(at, "caption")
    table = table_with(at, "Traffic light")
    assert list(table.columns) == list(diary_views.COLUMNS)
    assert list(table["Traffic light"]) == [
        "Amber: pain 4–5 during the walk",
        "Green: pain 0–3 during the walk",
    ]
    assert [chart.key for chart in at.get("plotly_chart")] == ["progress_chart_diary"]
    assert "Two red walks in a row" not in everything(at)


def test_two_red_walks_say_the_patient_was_told_to_ease_back_and_mark_the_banner_patient_reported(
    clinic: SqlStore,
) -> None:
    patient_id = patient_with_a_diary(clinic, 2, 7, 8)
    at = open_page(logged_in(clinic), "pages/progress.py", patient_id)
    warnings = texts(at, "warning")
    assert (
        "Two red walks in a row: the patient was told to go back to their last comfortable week" in warnings
    )
    assert "(their last green walk: 20 minutes)" in warnings
    # The diary re-screened the patient: the latest screening is the patient's own, and says so.
    assert "patient-reported, provisional" in everything(at)
    assert "not at a visit" in texts(at, "caption")


def test_the_red_flags_card_marks_an_escalation_the_patients_diary_raised(clinic: SqlStore) -> None:
    patient_id = patient_with_a_diary(clinic, 7, 8)
    (group,) = [
        g for g in services.open_escalation_groups(clinic, demo_user(clinic)) if g.patient.id == patient_id
    ]
    assert group.lead.rule_id == "RF_DIARY_NOT_SETTLING" and group.lead.source == "patient"
    at = open_page(logged_in(clinic), "pages/flags.py")
    shown = everything(at)
    assert "Patient-reported, provisional:" in shown and "· *patient-reported*" in shown


def test_a_clinicians_escalation_is_not_marked_patient_reported(clinic: SqlStore) -> None:
    at = open_page(logged_in(clinic), "pages/flags.py")
    assert "Patient-reported, provisional" not in everything(at)
