"""What the Patients page says about a patient's links (check-in and walking diary), issue 21.

A new link is shown once: the page keeps it in the session (never in the store) as a
:class:`ShownLink` until the clinician closes it or chooses another patient. Below it, the patient's
links with their state in words. The printed slip's wording is here too, in the patient's plain words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, TypedDict

from dashboard import checkin_services, checkin_text
from dashboard.config import Settings
from dashboard.downloads import PDF, Download
from dashboard.page_text import local_datetime, local_time
from dashboard.patient_reported import Invite, InviteKind, InviteState, invite_link, invite_state
from dashboard.ports import Store, User

SECTION_HEADING: Final = "Links for the patient (check-in, walking diary, web plan)"
SECTION_CAPTION: Final = (
    "A link opens the patient's own page on their phone: no account, only their date of birth. "
    "A check-in link works once, before a visit; a diary link takes entries after each walk; a web "
    "plan link shows the last handout given (once one has been given)."
)
CREATABLE: Final[tuple[InviteKind, ...]] = ("checkin", "diary", "plan")
CREATE_LABELS: Final[Mapping[InviteKind, str]] = {
    "checkin": "Create a check-in link",
    "diary": "Create a diary link",
    "plan": "Create a web plan link",  # the web version of the last handout given (issue 23)
}
KIND_WORDS: Final[Mapping[InviteKind, str]] = {
    "checkin": "Check-in",
    "diary": "Walking diary",
    "plan": "Web plan",
}
STATE_WORDS: Final[Mapping[InviteState, str]] = {
    "open": "Open",
    "used": "Used: the answers were sent",
    "revoked": "Revoked",
    "expired": "Expired",
    "locked": "Locked: five wrong dates of birth",
}
SHOWN_ONCE: Final = (
    "**Shown only now.** Stride keeps no copy of this link. Give it to the patient now: copy it, let "
    "them scan the code, or print the slip. After **Done**, or once you open another patient, it "
    "cannot be shown again; if it is lost, revoke it and create a new one."
)
DONE_LABEL: Final = "Done"
NO_LINKS: Final = "No links yet."
SLIP_DOWNLOAD: Final = Download(
    "Print the slip (PDF)",
    PDF,
    icon="🖨️",
    help="A slip to cut out with the code, the link and when it ends. It does not name the patient.",
)
# The slip's words for the patient (grade 8 or lower), by kind of link.
SLIP_HEADINGS: Final[Mapping[InviteKind, str]] = {
    "checkin": f"{checkin_text.TITLE}: your check-in",
    "diary": checkin_text.DIARY_TITLE,
    "plan": "Your plan on your phone",
}
SLIP_NOTES: Final[Mapping[InviteKind, str]] = {
    "checkin": (
        "Please fill this in before your appointment. It takes about 5 minutes. You will be asked for "
        "your date of birth. The link works once. Keep this slip to yourself."
    ),
    "diary": (
        "After each walk, note how long you walked and your pain. You will be asked for your date of "
        "birth. Keep this slip to yourself."
    ),
    "plan": (
        "Your plan, to read on your phone or with a screen reader. You will be asked for your date of "
        "birth. Keep this slip to yourself."
    ),
}


@dataclass(frozen=True)
class ShownLink:
    """A just-created link, kept in the session only until the clinician closes it (never stored)."""

    patient_id: str
    invite_id: str
    kind: InviteKind
    link: str
    expires_at: dt.datetime  # UTC


def shown_link(invite: Invite, token: str, public_url: str) -> ShownLink:
    """The new invite's link (the clinic's public address, the patient's page, the token) to show once."""
    return ShownLink(
        invite.patient_id, invite.id, invite.kind, invite_link(public_url, token), invite.expires_at
    )


def create_link(store: Store, user: User, patient_id: str, kind: InviteKind, settings: Settings) -> ShownLink:
    """Create a check-in, diary or web plan link for the patient (checkin_services.create_invite: audited, the
    account re-checked) and give it as the page shows it once."""
    issued = checkin_services.create_invite(store, user, patient_id, kind, settings=settings)
    return shown_link(issued.invite, issued.token, settings.public_url)


def link_for(kept: object, patient_id: str) -> ShownLink | None:
    """The link kept in the session if it belongs to the chosen patient; None (forget it) otherwise."""
    return kept if isinstance(kept, ShownLink) and kept.patient_id == patient_id else None


def shown_heading(shown: ShownLink) -> str:
    """'New check-in link' above the link shown once."""
    return f"New {KIND_WORDS[shown.kind].lower()} link"


def ends_line(expires_at: dt.datetime, tz_name: str) -> str:
    """'Works until 07 Dec 2026, 14:30 (Europe/London)': a link's end in the clinic's time zone."""
    return f"Works until {local_time(expires_at, tz_name)} ({tz_name})"


def qr_title(kind: InviteKind) -> str:
    """The QR code's text for screen readers (it never contains the link itself)."""
    return f"QR code of the new {KIND_WORDS[kind].lower()} link"


class SlipContent(TypedDict):
    """The words of a printed slip, as reports.invite_slip.render_slip takes them."""

    clinic_name: str
    heading: str
    link: str
    ends: dt.datetime
    note: str
    safety_net: str


def slip_content(shown: ShownLink, settings: Settings) -> SlipContent:
    """What the slip prints: the clinic, the link, its end in the clinic's time zone and the safety net."""
    return SlipContent(
        clinic_name=settings.clinic_name,
        heading=SLIP_HEADINGS[shown.kind],
        link=shown.link,
        ends=local_datetime(shown.expires_at, settings.timezone),
        note=SLIP_NOTES[shown.kind],
        # The screen's safety-net box without its markdown emphasis (the slip prints plain text).
        safety_net=checkin_text.safety_net(settings).replace("**", ""),
    )


def slip_file_name(shown: ShownLink, tz_name: str) -> str:
    """'stride-checkin-link-until-2026-12-07.pdf': the kind and the day it ends; no patient data."""
    return f"stride-{shown.kind}-link-until-{local_datetime(shown.expires_at, tz_name):%Y-%m-%d}.pdf"


@dataclass(frozen=True)
class LinkRow:
    """One of the patient's links as the page lists it."""

    invite_id: str
    kind: str
    created: str
    ends: str
    state: str
    can_revoke: bool  # only an open link can be revoked
    is_shown: bool = False  # the link just created and shown once above the list (revoking it hides it)

    @property
    def times(self) -> str:
        """'created 04 Dec 2026, 09:00 · ends 07 Dec 2026, 09:00' in the clinic's time zone."""
        return f"created {self.created} · ends {self.ends}"


def link_rows(
    invites: Iterable[Invite], now: dt.datetime, tz_name: str, shown: ShownLink | None = None
) -> list[LinkRow]:
    """The patient's links, newest first: kind, created and end times (clinic's zone), state in words,
    and which of them is the link `shown` once above the list."""
    rows = []
    for invite in sorted(invites, key=lambda i: i.created_at, reverse=True):
        state = invite_state(invite, now)
        rows.append(
            LinkRow(
                invite.id,
                KIND_WORDS[invite.kind],
                local_time(invite.created_at, tz_name),
                local_time(invite.expires_at, tz_name),
                STATE_WORDS[state],
                state == "open",
                shown is not None and shown.invite_id == invite.id,
            )
        )
    return rows
