"""A plan link through the services and a real store (issue 23; SQLite and PostgreSQL): it needs a
handout, shows the last one given before it was made, in its language, and audits each view by the
link's fingerprint; a later handout, another kind of link or a closed link shows nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard import checkin_services as cs
from dashboard import plan_link, plan_page, services
from dashboard.config import load_settings
from dashboard.handout_language import choose_handout
from dashboard.ports import InvalidInputError
from data.library import load_library
from tests.integration.support import audit_rows, make_team, patient_seen_two_weeks_ago


@pytest.fixture
def scene(store: Any) -> dict[str, Any]:
    team = make_team(store)
    return {
        "store": store,
        "user": team.clinician,
        "patient_id": patient_seen_two_weeks_ago(store, team.clinician),
    }


def given(scene: dict[str, Any], note: str) -> None:
    """A handout recorded as the plan page does, with a personal note to tell handouts apart."""
    store, user, pid = scene["store"], scene["user"], scene["patient_id"]
    record = services.open_patient(store, user, pid, audit=False)
    plan = plan_page.plan_for(record, load_library(), load_settings(), user.display_name)
    choice = choose_handout(plan.model_copy(update={"personal_note": note}), None, None)
    options = {"large_print": False, "rule_set_version": "r", "library_version": "l"}
    plan_page.give_handout(store, user, pid, choice, fake_pdf, **options)  # type: ignore[arg-type]


def fake_pdf(plan: Any, **options: Any) -> bytes:
    return b"%PDF-1.4 " + plan.personal_note.encode()


def link(scene: dict[str, Any], kind: str = "plan", **options: Any) -> cs.IssuedInvite:
    return cs.create_invite(scene["store"], scene["user"], scene["patient_id"], kind, **options)  # type: ignore[arg-type]


def test_a_plan_link_needs_a_handout_and_says_so(scene: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError) as refused:
        link(scene)
    assert refused.value.errors == {"handout": cs.NO_HANDOUT_YET}


def test_the_link_shows_the_last_handout_given_before_it_and_audits_each_view(scene: dict[str, Any]) -> None:
    given(scene, "first handout")
    given(scene, "second handout")
    issued = link(scene)
    given(scene, "given after the link")
    shown = plan_link.plan_for_link(scene["store"], issued.token)
    assert shown is not None and shown.plan.personal_note == "second handout" and shown.language == "en"
    views = [row for row in audit_rows(scene["store"]) if row.action == "invite.plan_view"]
    assert len(views) == 1 and views[0].after["fingerprint"] == issued.invite.fingerprint
    assert issued.token not in str(views[0])


def test_a_check_in_link_or_a_closed_plan_link_shows_no_plan(scene: dict[str, Any]) -> None:
    given(scene, "a handout")
    store = scene["store"]
    assert plan_link.plan_for_link(store, link(scene, "checkin").token) is None
    revoked = link(scene)
    cs.revoke_invite(store, scene["user"], scene["patient_id"], revoked.invite.id)
    assert plan_link.plan_for_link(store, revoked.token) is None
    expired = link(scene, now=dt.datetime.now(dt.UTC) - dt.timedelta(weeks=7))
    assert plan_link.plan_for_link(store, expired.token) is None
    assert plan_link.plan_for_link(store, "x" * 43) is None
