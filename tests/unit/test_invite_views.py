"""What the Patients page says about a patient's links: a new one shown once, the list with states."""

from __future__ import annotations

import datetime as dt

from dashboard import invite_views
from dashboard.config import Settings
from dashboard.downloads import PDF
from tests.factories import make_invite

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
TOKEN = "Y2hBRRxJH7HFOe9vO7C3RWnp7x4dAILXxfTPbglI6ZE"
SETTINGS = Settings(public_url="https://clinic.example.org/", timezone="Europe/London")


def shown(kind: str = "checkin") -> invite_views.ShownLink:
    return invite_views.shown_link(make_invite(kind=kind), TOKEN, SETTINGS.public_url)


def test_a_new_link_is_the_clinics_public_address_the_patients_page_and_the_token() -> None:
    link = shown()
    assert link.link == f"https://clinic.example.org/checkin?t={TOKEN}"
    assert (link.patient_id, link.invite_id, link.kind) == ("p1", "i1", "checkin")


def test_the_new_link_is_kept_only_for_its_own_patient() -> None:
    link = shown()
    assert invite_views.link_for(link, "p1") is link
    assert invite_views.link_for(link, "p2") is None
    assert invite_views.link_for(link, "") is None
    assert invite_views.link_for(None, "p1") is None
    assert invite_views.link_for(link.link, "p1") is None  # anything but a ShownLink is forgotten


def test_a_link_ends_in_the_clinics_time_zone() -> None:
    summer = dt.datetime(2026, 7, 1, 13, 30, tzinfo=dt.UTC)
    assert invite_views.ends_line(summer, "Europe/London") == "Works until 01 Jul 2026, 14:30 (Europe/London)"


def test_the_qr_codes_words_name_the_kind_of_link_never_the_link() -> None:
    assert invite_views.qr_title("diary") == "QR code of the new walking diary link"
    assert invite_views.shown_heading(shown("diary")) == "New walking diary link"


def test_the_slip_prints_the_link_its_local_end_and_a_plain_safety_net() -> None:
    content = invite_views.slip_content(shown(), SETTINGS)
    assert content["link"].endswith(TOKEN)
    assert content["ends"].utcoffset() == dt.timedelta(0)  # London in December is UTC
    assert content["ends"] == NOW + dt.timedelta(hours=72)
    assert content["heading"] == "Before your appointment: your check-in"
    assert "**" not in content["safety_net"] and SETTINGS.emergency_number in content["safety_net"]
    assert content["clinic_name"] == SETTINGS.clinic_name
    assert "date of birth" in invite_views.slip_content(shown("diary"), SETTINGS)["note"]


def test_the_slips_file_names_the_kind_and_its_end_day_and_nothing_about_the_patient() -> None:
    assert invite_views.slip_file_name(shown(), "Europe/London") == "stride-checkin-link-until-2026-12-07.pdf"
    args = invite_views.SLIP_DOWNLOAD.button("k", "slip.pdf")
    assert args["mime"] == PDF and args["on_click"] == "ignore"


def test_links_are_listed_newest_first_with_their_state_in_words() -> None:
    invites = [
        make_invite(NOW - dt.timedelta(days=10), id="old"),
        make_invite(NOW - dt.timedelta(hours=1), id="new", kind="diary"),
        make_invite(NOW - dt.timedelta(hours=2), id="used", used_at=NOW),
        make_invite(NOW - dt.timedelta(hours=3), id="revoked", revoked_at=NOW),
        make_invite(NOW - dt.timedelta(hours=4), id="locked", failed_identity_attempts=5),
    ]
    rows = invite_views.link_rows(invites, NOW, "Europe/London")
    assert [(r.invite_id, r.state) for r in rows] == [
        ("new", "Open"),
        ("used", "Used: the answers were sent"),
        ("revoked", "Revoked"),
        ("locked", "Locked: five wrong dates of birth"),
        ("old", "Expired"),
    ]
    assert [r.can_revoke for r in rows] == [True, False, False, False, False]
    assert (rows[0].kind, rows[0].created, rows[0].ends) == (
        "Walking diary",
        "04 Dec 2026, 08:00",
        "15 Jan 2027, 08:00",
    )
    assert rows[0].times == "created 04 Dec 2026, 08:00 · ends 15 Jan 2027, 08:00"


def test_the_link_just_shown_is_marked_in_the_list_so_revoking_it_hides_it() -> None:
    new = shown()
    invites = [make_invite(NOW, id=new.invite_id), make_invite(NOW - dt.timedelta(hours=1), id="other")]
    rows = invite_views.link_rows(invites, NOW, "Europe/London", new)
    assert [(r.invite_id, r.is_shown) for r in rows] == [(new.invite_id, True), ("other", False)]
    assert not any(r.is_shown for r in invite_views.link_rows(invites, NOW, "Europe/London"))
