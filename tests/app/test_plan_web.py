"""The web version of the plan (issue 23) under AppTest: offered on the plan page (download, preview),
a plan link made on the Patients page once a handout is given, and the patient's view of a plan
link: the identity check before any content, then the handout as given; a revoked or expired link
shows the calm message."""

from __future__ import annotations

import datetime as dt
from typing import Any

from streamlit.testing.v1 import AppTest

from dashboard import checkin_services as cs
from dashboard import page_keys, plan_link, plan_page, services
from dashboard.config import load_settings
from dashboard.handout_language import choose_handout
from dashboard.plan import placeholder_values
from dashboard.ports import InvalidInputError
from data.library import load_library
from data.store import SqlStore
from reports import handout, i18n
from tests.app.test_pages import demo_user, logged_in, open_page, texts
from tests.app.test_plan_page_language import with_language
from tests.app.test_plan_page_safety import patient_with_visit
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
BORN = dt.date(1958, 3, 2)  # patient_with_visit's date of birth
K = page_keys.Plan
P = page_keys.Patients


def give_handout(store: SqlStore, patient_id: str, language: str = "en") -> None:
    """Record a handout as the plan page does at the download click (in the patient's language)."""
    user = demo_user(store)
    record = services.open_patient(store, user, patient_id, audit=False)
    settings, library = load_settings(), load_library()
    english = plan_page.plan_for(record, library, settings, user.display_name)
    translation = None
    if language != "en":
        translation = i18n.translate_plan(english, library, language, placeholder_values(settings))
    choice = choose_handout(english, translation, None, chosen=language)
    plan_page.give_handout(
        store,
        user,
        patient_id,
        choice,
        handout.render,
        large_print=False,
        rule_set_version="r",
        library_version="l",
    )


def plan_link_for(store: SqlStore, patient_id: str, **options: Any) -> cs.IssuedInvite:
    return cs.create_invite(store, demo_user(store), patient_id, "plan", **options)


def plan_link_ways(at: AppTest) -> list[Any]:
    """The plan page's link to the Patients page, where a plan link is made."""
    return [link for link in at.get("page_link") if link.proto.label == plan_page.PLAN_LINK_LABEL]


def open_link(token: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["t"] = token
    at.run().switch_page("pages/patient_link.py").run()
    assert not at.exception, at.exception
    return at


def web_plans(at: AppTest) -> list[str]:
    return [str(element.proto.body) for element in at.get("html")]


def verify(at: AppTest, born: dt.date) -> AppTest:
    at.text_input[0].input(born.strftime("%d/%m/%Y"))
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_the_plan_page_offers_the_web_version_and_says_the_pdf_cannot_be_tagged(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-WEB", "Ada", "<b>Bold</b>")
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    assert "For screen readers, use the web version" in texts(at, "caption")
    assert [b for b in at.get("download_button") if b.proto.label == plan_page.WEB_HANDOUT.label]
    [preview] = web_plans(at)
    assert 'class="stride-plan" lang="en" dir="ltr"' in preview and "&lt;b&gt;Bold&lt;/b&gt;" in preview
    assert "<svg" not in preview and preview.count('src="data:image/svg+xml;base64,') >= 1


def test_a_plan_link_is_made_on_the_patients_page_once_a_handout_is_given_and_is_shown_once(
    clinic: SqlStore,
) -> None:
    pid = patient_with_visit(clinic, "T-LINK", "Ada", "Lovelace")
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    assert not plan_link_ways(at), "the way to the plan link is offered before any handout is given"
    at = open_page(logged_in(clinic), "pages/patients.py", pid)
    at.button(key=P.CREATE_LINK.format("plan")).click().run()
    assert not at.exception, at.exception
    assert not at.code and cs.NO_HANDOUT_YET in texts(at, "error")
    give_handout(clinic, pid)
    at = open_page(logged_in(clinic), "pages/plan.py", pid)
    [link] = plan_link_ways(at)
    assert link.proto.query_string == f"patient={pid}"
    at = open_page(logged_in(clinic), "pages/patients.py", pid)
    at.button(key=P.CREATE_LINK.format("plan")).click().run()
    assert not at.exception, at.exception
    [code] = at.code
    assert "/checkin?t=" in code.value
    assert "Shown only now." in texts(at, "warning")
    at.button(key=P.LINK_DONE).click().run()
    assert not at.code


def test_a_plan_link_cannot_be_made_before_any_handout_is_given(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-NONE", "Ada", "Lovelace")
    try:
        plan_link_for(clinic, pid)
    except InvalidInputError as exc:
        assert exc.errors == {"handout": cs.NO_HANDOUT_YET}
    else:
        raise AssertionError("a plan link was made without a handout")


def test_the_patient_sees_nothing_of_the_plan_before_the_identity_check(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-ID", "Ada", "Lovelace")
    give_handout(clinic, pid)
    at = open_link(plan_link_for(clinic, pid).token)
    assert not web_plans(at)
    assert [t.label for t in at.text_input] == ["Your date of birth"]
    assert plan_link.PLAN_TITLE in [s.value for s in at.subheader]
    at = verify(at, BORN - dt.timedelta(days=1))
    assert not web_plans(at) and cs.IDENTITY_WRONG in texts(at, "error")


def test_after_the_identity_check_the_patient_sees_the_handout_as_given_and_the_view_is_audited(
    clinic: SqlStore,
) -> None:
    pid = patient_with_visit(clinic, "T-SEE", "Ada", "Lovelace")
    give_handout(clinic, pid)
    issued = plan_link_for(clinic, pid)
    at = verify(open_link(issued.token), BORN)
    [page] = web_plans(at)
    assert "<h1>Your walking and back plan</h1>" in page and "Ada Lovelace" in page
    assert 'class="safety-net"' in page and "When to get help" in page
    with clinic.read() as tx:
        views = [e for e in tx.audit_entries(patient_id=pid) if e.action == "invite.plan_view"]
    assert len(views) == 1 and issued.token not in str(views[0])
    assert views[0].after["fingerprint"] == issued.invite.fingerprint


def test_an_arabic_patient_sees_the_plan_right_to_left_with_the_translated_safety_net(
    clinic: SqlStore,
) -> None:
    pid = patient_with_visit(clinic, "T-AR", "ليلى", "حداد")
    with_language(clinic, pid, "ar")
    give_handout(clinic, pid, "ar")
    at = verify(open_link(plan_link_for(clinic, pid).token), BORN)
    [page] = web_plans(at)
    catalogue = i18n.catalogue("ar")
    assert catalogue is not None
    assert 'lang="ar" dir="rtl"' in page and str(catalogue.get("When to get help")) in page
    assert 'class="english" lang="en" dir="ltr"' in page  # unreviewed: the English beside it (§14)
    assert "Translation not yet reviewed by a clinician." in page


def test_a_revoked_plan_link_shows_the_calm_message_and_no_plan(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-REV", "Ada", "Lovelace")
    give_handout(clinic, pid)
    issued = plan_link_for(clinic, pid)
    cs.revoke_invite(clinic, demo_user(clinic), pid, issued.invite.id)
    at = open_link(issued.token)
    assert cs.LINK_CLOSED in texts(at, "info") and not web_plans(at) and not at.text_input


def test_an_expired_plan_link_shows_the_calm_message_and_no_plan(clinic: SqlStore) -> None:
    pid = patient_with_visit(clinic, "T-EXP", "Ada", "Lovelace")
    give_handout(clinic, pid)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(weeks=7)
    at = open_link(plan_link_for(clinic, pid, now=long_ago).token)
    assert cs.LINK_CLOSED in texts(at, "info") and not web_plans(at) and not at.text_input
