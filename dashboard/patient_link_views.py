"""What the patient's own page (/checkin?t=<token>) decides, without streamlit: whether this tab
already sent the check-in, the identity check from what was typed, the widget keys of each kind of
link, the answers as the browser sent them, and whether an emergency answer still needs recording.

The page (pages/patient_link.py) reads its widgets, calls these and shows the results; the words
are dashboard.checkin_text's, the use cases dashboard.checkin_services' and dashboard.plan_link's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from dashboard import checkin_services as cs
from dashboard import checkin_text, page_keys
from dashboard import patient_reported as pr
from dashboard.ports import Store

K = page_keys.Checkin
# A diary entry's fields as the page sends them (the day of the walk beside them).
DIARY_FIELDS = ("walked_min", "symptom_onset_min", "pain_before_nrs", "pain_during_nrs")


def sent_from_here(session: Mapping[Any, Any], token: str | None) -> tuple[bool, bool]:
    """(this tab sent the check-in of this link, its answers were an emergency): the thanks and the
    instructions stay on F5."""
    done = session.get(K.DONE)
    if not token or not done or done[0] != pr.token_hash(token):
        return False, False
    return True, cs.is_emergency(done[1])


def verify_identity(
    store: Store, token: str | None, typed: str, today: dt.date, *, client: str | None
) -> str | None:
    """None when the typed date of birth is the patient's, else the message to show (a date that
    does not exist, a wrong date, a locked link, a busy client)."""
    born = checkin_text.parse_birth_date(typed, today)
    if isinstance(born, str):
        return born
    result = cs.check_identity(store, token, born, client=client)
    return None if result.outcome == "ok" else result.message


def widget_prefix(kind: pr.InviteKind, saved_walks: int) -> str:
    """The prefix of the page's widget keys: the diary's start anew after each saved walk (an empty
    form for the next one); a refused save keeps them, so nothing typed is lost."""
    return K.PREFIX if kind != "diary" else f"{K.PREFIX}d{saved_walks}_"


def typed_answers(session: Mapping[Any, Any], prefix: str, names: Sequence[str]) -> dict[str, object]:
    """What the widgets hold, as the browser sent it (strings; empty when not answered)."""
    values = {name: session.get(prefix + name) for name in names}
    return {name: "" if value is None else str(value) for name, value in values.items()}


def checkin_fields(details: cs.LinkDetails) -> list[str]:
    """Every field of the check-in form: the fixed questions, one rating per PSFS activity and the
    licensed questionnaires' items."""
    psfs = [f"psfs_{i}" for i in range(len(details.psfs_activities))]
    return (
        cs.CHECKIN_FIELDS + psfs + [name for wording in details.instruments for name in wording.field_names]
    )


def early_record_due(
    session: Mapping[Any, Any], invite_id: str, raw: Mapping[str, object]
) -> tuple[str, str] | None:
    """The marker to keep once an emergency answer is recorded before sending, or None when these
    answers were recorded already (one record, however often the page reruns)."""
    marker = (invite_id, cs.answers_key(raw))
    return None if session.get(K.EARLY) == marker else marker
