"""What the Red flags page says about one event and what its two closing forms hand to the services.

One card per event (the escalations one screening raised): its tier and heading, each rule's reason,
action and timeframe (marked when the patient's own answers raised it, §12.2), when it was opened,
and the words after it was closed, either with an action taken or as a referral with its letter
(clinical-reference §13). Every stored text is escaped for markdown,
since an escalation may come from an import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final, TypedDict

from dashboard import page_text
from dashboard.downloads import PDF, Download
from dashboard.escalation_services import EscalationGroup
from dashboard.letters import CES_RULES, RECIPIENTS
from dashboard.models import CLOSE_ACTIONS, CLOSE_ACTIONS_NEEDING_TEXT, Escalation
from dashboard.ports import InvalidInputError
from dashboard.presenters import TIER_ICON, TIER_LEVEL, TIER_WORDS
from dashboard.safe_text import md_escape

CLOSE_DETAIL_MAX: Final = 1000  # characters of the closing action's reference, reason or description
# The actions whose free text is required, in the dropdown's order, for the text field's help.
CLOSE_DETAIL_HELP: Final = "Required for: {}. Kept in the audit trail.".format(
    ", ".join(
        CLOSE_ACTIONS[a].split(" (")[0].lower() for a in CLOSE_ACTIONS if a in CLOSE_ACTIONS_NEEDING_TEXT
    )
)
PATIENT_REPORTED: Final = (
    "🗣️ **Patient-reported, provisional:** raised by the patient's own answers (check-in or walking "
    "diary), not at a visit. Ask the questions in person."
)
TOLD_HELP: Final = "The safety-netting advice you gave, printed in the letter as you write it."
LETTER_DOWNLOAD: Final = Download("Download the referral letter (PDF)", PDF, icon="✉️", primary=True)


class ReferralFields(TypedDict):
    """The letter form's values as letter_services.refer_with_letter takes them."""

    recipient: str | None
    told: str
    told_at: dt.datetime | None
    reference: str


def rule_ids(group: EscalationGroup) -> list[str]:
    """The event's rule ids, most urgent first, escaped for markdown."""
    return [md_escape(e.rule_id) for e in group.escalations]


def tier_line(group: EscalationGroup) -> tuple[str, str]:
    """The card's alert level (st.error, st.warning, ...) and its first line: the event's tier in words,
    marked 'patient-reported' when the lead escalation came from the patient's own answers."""
    lead = group.lead
    words = f"{TIER_ICON[lead.tier]} **{TIER_WORDS[lead.tier]}**"
    return TIER_LEVEL[lead.tier], f"{words} · *patient-reported*" if lead.source == "patient" else words


def event_heading(group: EscalationGroup) -> str:
    """'**Name** (REF) · Clinician · rule: RF_X', or '· 2 rules from one screening: RF_X, RF_Y'."""
    rules = rule_ids(group)
    name, ref = md_escape(group.patient.display_name), md_escape(group.patient.patient_ref)
    label = "rule" if len(rules) == 1 else f"{len(rules)} rules from one screening"
    who = f" · {md_escape(group.clinician)}" if group.clinician else ""
    return f"**{name}** ({ref}){who} · {label}: {', '.join(rules)}"


def escalation_text(esc: Escalation, *, one_of_several: bool) -> str:
    """One rule's reason, action and timeframe; headed by its rule and tier when the event has several,
    and marked patient-reported, provisional when the patient's own answers raised it (§12.2)."""
    head = f"{TIER_ICON[esc.tier]} **{md_escape(esc.rule_id)}** ({TIER_WORDS[esc.tier]})  \n"
    source = f"{PATIENT_REPORTED}  \n" if esc.source == "patient" else ""
    return (
        (head if one_of_several else "")
        + source
        + f"**Reason:** {md_escape(esc.reason)}  \n"
        + f"**Action:** {md_escape(esc.action)}  \n**Timeframe:** {md_escape(esc.timeframe)}"
    )


def event_texts(group: EscalationGroup) -> list[str]:
    """The card's markdown blocks: the event's heading, then each rule's text (headed by its rule and
    tier when the event has several)."""
    several = len(group.escalations) > 1
    return [event_heading(group), *(escalation_text(e, one_of_several=several) for e in group.escalations)]


def queue_summary(groups: Sequence[EscalationGroup]) -> str:
    """The bold line above the queue: every open escalation counted by tier (the filters aside)."""
    return f"**{page_text.open_flag_summary(esc.tier for g in groups for esc in g.escalations)}**"


def showing_caption(shown: Sequence[EscalationGroup], groups: Sequence[EscalationGroup]) -> str:
    """'Showing 3 of 7 events.': what the filters leave of the open events."""
    return f"Showing {len(shown)} of {len(groups)} events."


def opened_caption(group: EscalationGroup, now: dt.datetime, tz_name: str) -> str:
    """'Opened 3 Dec 2026, 09:14 (2 days ago)', on the clinic's clock."""
    opened = group.lead.opened_at
    return f"Opened {page_text.local_time(opened, tz_name)} ({page_text.days_ago(opened, now)})"


def close_button_label(group: EscalationGroup) -> str:
    """'Close escalation', or 'Close all 3 escalations' for an event of several rules."""
    n = len(group.escalations)
    return "Close escalation" if n == 1 else f"Close all {n} escalations"


def check_close_detail(detail: str) -> None:
    """Refuse a reference, reason or description over CLOSE_DETAIL_MAX characters, by field."""
    # Checked here, not by the widget, which drops longer text unseen (issue 19).
    if len(detail) > CLOSE_DETAIL_MAX:
        raise InvalidInputError(
            {
                "close_detail": f"Reference, reason or description can hold at most "
                f"{CLOSE_DETAIL_MAX:,} characters (you entered {len(detail):,})."
            }
        )


def closed_flash(group: EscalationGroup, action: str) -> str:
    """The message shown once after the event was closed with ``action`` (a CLOSE_ACTIONS key)."""
    return (
        f"Closed {', '.join(rule_ids(group))} for {md_escape(group.patient.display_name)}: "
        f"{md_escape(CLOSE_ACTIONS[action])}."
    )


def referral_label(group: EscalationGroup) -> str:
    """The letter form's heading; a suspected cauda equina event names the emergency pathway."""
    ces = any(e.rule_id in CES_RULES for e in group.escalations)
    return "Close with a referral letter" + (" (suspected CES: emergency pathway)" if ces else "")


def referral_told_defaults(now: dt.datetime, tz_name: str) -> tuple[dt.date, dt.time]:
    """The letter form's 'told on' date and 'at' time: now on the clinic's clock, to the minute."""
    local = page_text.local_datetime(now, tz_name)
    return local.date(), local.time().replace(second=0, microsecond=0)


def referral_fields(
    recipient: str | None,
    told: str,
    told_on: dt.date | None,
    told_time: dt.time | None,
    reference: str,
    tz_name: str,
) -> ReferralFields:
    """The letter form's values for the service; the date and time told become one UTC moment (None if
    either is missing, which the service refuses by field)."""
    told_at = page_text.clinic_moment(told_on, told_time, tz_name) if told_on and told_time else None
    return {"recipient": recipient, "told": told, "told_at": told_at, "reference": reference}


def referred_flash(group: EscalationGroup, recipient: str) -> str:
    """The message shown once after the event was closed as a referral to ``recipient`` (a RECIPIENTS key)."""
    return (
        f"Closed {', '.join(rule_ids(group))} for {md_escape(group.patient.display_name)} as a referral to "
        f"{md_escape(RECIPIENTS[recipient].lower())}, with the letter as its evidence."
    )
