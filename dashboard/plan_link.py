"""The patient's side of a plan link (issue 23; clinical-reference §12): after the same date-of-birth
check as a check-in link, the web version of the handout as it was given to them.

A plan link shows the latest handout recorded before the link was made, in the language and layout
it was printed in. The token is hashed at once like every patient link; each view is audited under
the invite's short fingerprint, never the token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from dashboard import checkin_text
from dashboard.checkin_services import _open_invite
from dashboard.handout_language import StoredHandout, stored_handout
from dashboard.patient_reported import InviteKind
from dashboard.ports import Store
from dashboard.service_base import _audit, _utcnow

PLAN_TITLE = "Your plan"
NOT_AVAILABLE = (
    "Your plan cannot be shown here. Please keep the printed copy, and ask your clinic for a new link."
)


def plan_for_link(store: Store, token: str | None, *, now: dt.datetime | None = None) -> StoredHandout | None:
    """The handout a plan link shows (after the identity check), audited; None for a link that no
    longer opens, one of another kind, or a handout that cannot be shown as it was given."""
    now = now or _utcnow()
    with store.transaction() as tx:
        invite = _open_invite(tx, token, now)
        if invite is None or invite.kind != "plan":
            return None
        given = [h for h in tx.handouts(invite.patient_id) if h.recorded_at <= invite.created_at]
        shown = stored_handout(given[-1].plan) if given else None
        if shown is None:
            return None
        _audit(
            tx,
            None,
            "invite.plan_view",
            "handout",
            given[-1].id,
            invite.patient_id,
            after={"fingerprint": invite.fingerprint, "language": shown.language},
        )
    return shown


def link_title(kind: InviteKind) -> str:
    """The patient's page's heading for a kind of link (check-in, walking diary, plan)."""
    return {"diary": checkin_text.DIARY_TITLE, "plan": PLAN_TITLE}.get(kind, checkin_text.TITLE)


def web_plan(store: Store, token: str | None, render: Callable[..., str]) -> str | None:
    """The plan link's page as `st.html` shows it (render: reports.handout_web.render_html), or None.

    st.html's sanitizer (DOMPurify, HTML profile) removes inline SVG, so the drawings are <img> of
    the same SVG; no script runs."""
    handout = plan_for_link(store, token)
    if handout is None:
        return None
    return render(handout.plan, **handout.render_options(), inline_svg=False, fragment=True)
