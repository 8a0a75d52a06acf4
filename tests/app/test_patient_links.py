"""AppTest of the Patients page's links for the patient (issue 21): a new link is shown once, a
read-only user cannot create one, and a revoked link says so."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from dashboard import checkin_services
from dashboard.config import load_settings
from dashboard.page_keys import Patients as K
from data.store import SqlStore
from tests.app.test_visit_and_patients import log_in, patient_id

PATIENT_REF = "DEMO-00002"


def patients_page(clinic: SqlStore, username: str = "demo.clinician") -> AppTest:
    at = log_in(username)
    at.session_state["patient_id"] = patient_id(clinic, PATIENT_REF)
    at.switch_page("pages/patients.py").run()
    assert not at.exception, at.exception
    return at


def everything_shown(at: AppTest) -> str:
    """Every element of the page (main and sidebar) as its protobuf text: what the browser receives."""
    return "\n".join(str(getattr(node, "proto", "")) for root in (at.main, at.sidebar) for node in root)


def images(at: AppTest) -> list[Any]:
    return [node for node in at.main if getattr(node, "type", "") == "image"]


def create_checkin_link(at: AppTest) -> str:
    at.button(key=K.CREATE_LINK.format("checkin")).click().run()
    assert not at.exception, at.exception
    (code,) = at.code
    return str(code.value)


def test_a_new_check_in_link_opens_the_patients_invite_and_shows_its_qr_code(clinic: SqlStore) -> None:
    at = patients_page(clinic)
    link = create_checkin_link(at)
    settings = load_settings()
    assert link.startswith(f"{settings.public_url.rstrip('/')}/checkin?t=")
    view = checkin_services.open_link(clinic, link.split("t=", 1)[1], settings)
    assert view is not None and view.invite.patient_id == patient_id(clinic, PATIENT_REF)
    assert view.invite.kind == "checkin"
    assert len(images(at)) == 1
    assert at.button(key=K.LINK_DONE) is not None
    assert any("Shown only now" in str(w.value) for w in at.warning)


def test_after_done_the_token_is_nowhere_on_the_page_or_in_the_session(clinic: SqlStore) -> None:
    at = patients_page(clinic)
    token = create_checkin_link(at).split("t=", 1)[1]
    at.run()  # any other rerun still shows it, until Done
    assert token in everything_shown(at)
    at.button(key=K.LINK_DONE).click().run()
    assert not at.exception, at.exception
    at.run()
    assert token not in everything_shown(at)
    assert not at.code and not images(at)
    assert K.NEW_LINK not in at.session_state
    assert any(str(m.value) == "Open" for m in at.markdown)  # the link itself is still listed


def test_opening_another_patient_forgets_the_new_link(clinic: SqlStore) -> None:
    at = patients_page(clinic)
    token = create_checkin_link(at).split("t=", 1)[1]
    at.session_state["patient_id"] = patient_id(clinic, "DEMO-00003")
    at.run()
    assert not at.exception, at.exception
    assert token not in everything_shown(at)
    assert K.NEW_LINK not in at.session_state


def test_a_read_only_user_sees_the_links_but_no_create_or_revoke_buttons(clinic: SqlStore) -> None:
    create_checkin_link(patients_page(clinic))
    at = patients_page(clinic, "demo.readonly")
    labels = [b.label for b in at.button]
    assert "Create a check-in link" not in labels and "Create a diary link" not in labels
    assert "Revoke" not in labels
    assert any("Check-in" in str(m.value) for m in at.markdown)


def test_revoking_an_open_link_changes_its_state_and_removes_its_button(clinic: SqlStore) -> None:
    at = patients_page(clinic)
    at.button(key=K.CREATE_LINK.format("diary")).click().run()
    at.button(key=K.LINK_DONE).click().run()
    (revoke,) = [b for b in at.button if b.label == "Revoke"]
    revoke.click().run()
    assert not at.exception, at.exception
    states = [str(m.value) for m in at.markdown]
    assert "Revoked" in states and "Open" not in states
    assert "Revoke" not in [b.label for b in at.button]


def test_revoking_the_link_just_shown_stops_showing_it(clinic: SqlStore) -> None:
    at = patients_page(clinic)
    token = create_checkin_link(at).split("t=", 1)[1]
    (revoke,) = [b for b in at.button if b.label == "Revoke"]
    revoke.click().run()
    assert not at.exception, at.exception
    assert token not in everything_shown(at) and K.NEW_LINK not in at.session_state
    assert "Revoked" in [str(m.value) for m in at.markdown]
