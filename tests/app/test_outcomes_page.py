"""The Outcomes page (issue 22) through AppTest: period, filters, empty and refused periods, rights."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import episode_services, services
from data.store import SqlStore
from tests.app.test_pages import demo_user, logged_in, open_page, texts
from tests.factories import PATIENT_DEFAULTS
from tests.integration.support import visit_values

TODAY = dt.date.today()


def discharged_patients(store: SqlStore, pains: list[tuple[int, int]]) -> None:
    """Young patients of the demo clinician, seen a month apart and discharged today."""
    clinician = demo_user(store)
    for n, (first, last) in enumerate(pains):
        values = {**PATIENT_DEFAULTS, "patient_ref": f"T-OUT-{n}", "birth_date": dt.date(1990, 1, 1)}
        patient = services.register_patient(store, clinician, values)
        for days_ago, pain in ((30, first), (2, last)):
            day = TODAY - dt.timedelta(days=days_ago)
            services.record_visit(store, clinician, patient.saved_id, visit_values(day, pain_nrs=pain))
        episode_services.discharge(
            store, clinician, patient.saved_id, discharge_date=TODAY, reason="goals_met", today=TODAY
        )


def outcomes_page(store: SqlStore) -> AppTest:
    at = open_page(logged_in(store, "demo.admin"), "pages/outcomes.py")
    at.segmented_control(key="outcomes_kind").set_value("Custom").run()
    at.date_input(key="outcomes_start").set_value(TODAY - dt.timedelta(days=60)).run()
    at.date_input(key="outcomes_end").set_value(TODAY).run()
    assert not at.exception, at.exception
    return at


def test_the_outcomes_page_shows_the_share_improved_for_the_period(clinic: SqlStore) -> None:
    discharged_patients(clinic, [(7, 2), (8, 3), (6, 6)])
    at = outcomes_page(clinic)
    measures = next(f.value for f in at.dataframe if "Measure" in f.value.columns)
    pain = measures.set_index("Measure").loc["Pain (NRS)"]
    assert (pain["Complete"], pain["Improved"], pain["% improved"]) == (3, 2, "67%")
    funnel = next(f.value for f in at.dataframe if "Against the clinic's rate" in f.value.columns)
    assert funnel["Clinician"].to_list() == ["Demo Clinician"]
    assert "within the expected range" in funnel["Against the clinic's rate"].to_list()


def test_a_clinician_with_no_discharges_gets_words_not_a_chart(clinic: SqlStore) -> None:
    discharged_patients(clinic, [(7, 2)])
    at = outcomes_page(clinic)
    at.selectbox(key="outcomes_clinician").select("Demo Admin").run()
    assert "No episode was discharged in this period" in texts(at, "info")
    assert not [f for f in at.dataframe if "Measure" in f.value.columns]


def test_a_period_ending_before_it_starts_is_refused_in_words(clinic: SqlStore) -> None:
    at = outcomes_page(clinic)
    at.date_input(key="outcomes_end").set_value(TODAY - dt.timedelta(days=90)).run()
    assert "The period ends before it starts" in texts(at, "error")
    assert not at.exception


def test_only_an_admin_is_offered_the_outcomes_page(clinic: SqlStore) -> None:
    for username, offered in (("demo.admin", True), ("demo.clinician", False), ("demo.readonly", False)):
        at = logged_in(clinic, username)
        if offered:
            at.switch_page("pages/outcomes.py").run()
            assert at.title[0].value == "Outcomes"
        else:  # not in the navigation at all; the service refuses too (tests/integration/test_outcomes.py)
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page("pages/outcomes.py")


def test_a_case_mix_filter_with_no_matching_episode_says_so(clinic: SqlStore) -> None:
    discharged_patients(clinic, [(7, 2), (8, 3)])
    at = outcomes_page(clinic)
    assert next(f.value for f in at.dataframe if "Measure" in f.value.columns) is not None
    at.selectbox(key="outcomes_age").select("≥ 80").run()  # the patients here are in their thirties
    assert "No episode was discharged in this period with these filters" in texts(at, "info")
    at.selectbox(key="outcomes_age").select("< 50").run()
    measures = next(f.value for f in at.dataframe if "Measure" in f.value.columns)
    assert measures.set_index("Measure").loc["Pain (NRS)", "Complete"] == 2


def test_an_admin_whose_role_is_taken_away_sees_no_outcomes_at_the_next_rerun(clinic: SqlStore) -> None:
    discharged_patients(clinic, [(7, 2)])
    at = outcomes_page(clinic)
    admin = demo_user(clinic, "demo.admin")
    other = services.create_user(
        clinic,
        admin,
        username="second.admin",
        display_name="Second Admin",
        role="admin",
        password="a long pass phrase 9",
    )
    services.admin_update_user(clinic, other, admin.id, role="clinician")
    at.run()
    assert not at.exception
    assert not [f for f in at.dataframe if "Measure" in f.value.columns]


def test_a_custom_period_of_more_than_ten_years_reaches_the_server_and_is_refused_in_words(
    clinic: SqlStore,
) -> None:
    at = outcomes_page(clinic)
    at.date_input(key="outcomes_start").set_value(dt.date(2001, 1, 1)).run()
    assert "Choose a period of at most ten years." in texts(at, "error")
    assert not at.exception
