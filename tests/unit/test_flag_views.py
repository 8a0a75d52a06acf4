"""What the Red flags page says about an event and hands to the services when it is closed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dashboard import flag_views
from dashboard.models import Escalation, Tier
from dashboard.ports import InvalidInputError
from dashboard.services import EscalationGroup
from tests.factories import make_patient

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def escalation(rule_id: str, tier: Tier = "URGENT", **fields: Any) -> Escalation:
    """An open escalation of one rule, opened two days before NOW."""
    return Escalation(
        patient_id="p", rule_id=rule_id, tier=tier, opened_at=NOW - dt.timedelta(days=2), **fields
    )


def one_rule(clinician: str = "") -> EscalationGroup:
    return EscalationGroup(make_patient(patient_ref="T-1"), (escalation("RF_INFECTION"),), clinician)


def three_rules() -> EscalationGroup:
    rules = (escalation("RF_CES", "EMERGENCY"), escalation("RF_INFECTION"), escalation("RF_FRACTURE"))
    return EscalationGroup(make_patient(patient_ref="T-1"), rules)


def test_a_one_rule_event_is_headed_by_the_patient_their_clinician_and_the_rule() -> None:
    heading = flag_views.event_heading(one_rule("Dr Ada"))
    assert heading.endswith("(T\\-1) · Dr Ada · rule: RF\\_INFECTION")
    assert flag_views.close_button_label(one_rule()) == "Close escalation"


def test_an_event_of_several_rules_names_them_all_and_heads_each_rules_text() -> None:
    group = three_rules()
    assert (
        "· 3 rules from one screening: RF\\_CES, RF\\_INFECTION, RF\\_FRACTURE"
        in flag_views.event_heading(group)
    )
    assert flag_views.close_button_label(group) == "Close all 3 escalations"
    lead = group.lead
    assert flag_views.escalation_text(lead, one_of_several=True).startswith("🚨 **RF\\_CES**")
    assert flag_views.escalation_text(lead, one_of_several=False).startswith("**Reason:**")


def test_stored_texts_are_escaped_since_an_escalation_may_come_from_an_import() -> None:
    esc = escalation("RF_X", reason="**bold** [link](x)")
    assert "\\*\\*bold\\*\\*" in flag_views.escalation_text(esc, one_of_several=False)


def test_the_opening_time_is_on_the_clinics_clock_with_how_long_ago() -> None:
    caption = flag_views.opened_caption(one_rule(), NOW, "Europe/London")
    assert caption == "Opened 01 Dec 2026, 12:00 (2 days ago)"


def test_a_close_detail_over_1000_characters_is_refused_by_its_field() -> None:
    flag_views.check_close_detail("d" * flag_views.CLOSE_DETAIL_MAX)
    with pytest.raises(InvalidInputError) as refused:
        flag_views.check_close_detail("d" * 1200)
    assert refused.value.errors == {
        "close_detail": "Reference, reason or description can hold at most 1,000 characters "
        "(you entered 1,200)."
    }


def test_the_detail_help_names_every_action_that_needs_text() -> None:
    assert flag_views.CLOSE_DETAIL_HELP == (
        "Required for: already under care, not indicated, other. Kept in the audit trail."
    )


def test_the_flash_after_a_close_names_the_rules_the_patient_and_the_action() -> None:
    assert flag_views.closed_flash(one_rule(), "sent_to_ed").startswith("Closed RF\\_INFECTION for ")
    assert flag_views.closed_flash(one_rule(), "sent_to_ed").endswith(": Sent to the emergency department.")
    referred = flag_views.referred_flash(three_rules(), "emergency_department")
    assert referred.startswith("Closed RF\\_CES, RF\\_INFECTION, RF\\_FRACTURE for ")
    assert referred.endswith("as a referral to emergency department, with the letter as its evidence.")


def test_a_suspected_cauda_equina_event_names_the_emergency_pathway() -> None:
    assert flag_views.referral_label(one_rule()) == "Close with a referral letter"
    assert flag_views.referral_label(three_rules()).endswith("(suspected CES: emergency pathway)")


def test_the_letter_form_starts_at_now_on_the_clinics_clock_to_the_minute() -> None:
    now = dt.datetime(2026, 7, 1, 8, 30, 45, tzinfo=dt.UTC)
    assert flag_views.referral_told_defaults(now, "Europe/London") == (dt.date(2026, 7, 1), dt.time(9, 30))


def test_the_day_and_time_told_become_one_utc_moment_or_none_when_either_is_missing() -> None:
    fields = flag_views.referral_fields(
        "gp", "Call 999", dt.date(2026, 7, 1), dt.time(9, 30), "R1", "Europe/London"
    )
    assert fields == {
        "recipient": "gp",
        "told": "Call 999",
        "told_at": dt.datetime(2026, 7, 1, 8, 30, tzinfo=dt.UTC),
        "reference": "R1",
    }
    assert flag_views.referral_fields(None, "", None, dt.time(9, 30), "", "UTC")["told_at"] is None


def test_an_escalation_from_the_patients_own_answers_is_marked_on_its_card() -> None:
    reported = escalation("RF_CES", "EMERGENCY", source="patient")
    group = EscalationGroup(make_patient(patient_ref="T-1"), (reported,))
    level, line = flag_views.tier_line(group)
    assert level == "error" and line.endswith("· *patient-reported*")
    text = flag_views.escalation_text(reported, one_of_several=False)
    assert text.startswith("🗣️ **Patient-reported, provisional:**") and "**Reason:**" in text


def test_a_clinicians_escalation_carries_no_patient_reported_mark() -> None:
    level, line = flag_views.tier_line(one_rule())
    assert "patient-reported" not in line
    assert "Patient-reported" not in flag_views.escalation_text(one_rule().lead, one_of_several=False)


def test_a_card_shows_the_heading_then_each_rule_headed_only_when_there_are_several() -> None:
    heading, text = flag_views.event_texts(one_rule())
    assert heading == flag_views.event_heading(one_rule()) and text.startswith("**Reason:**")
    heading, *texts = flag_views.event_texts(three_rules())
    assert [t.split("**")[1] for t in texts] == ["RF\\_CES", "RF\\_INFECTION", "RF\\_FRACTURE"]


def test_the_queue_counts_every_open_escalation_by_tier_and_says_how_many_events_the_filters_leave() -> None:
    groups = [one_rule(), three_rules()]
    summary = flag_views.queue_summary(groups)
    assert summary.startswith("**") and summary.endswith("**")
    assert "1 emergency" in summary.lower() and "3 urgent" in summary.lower()
    assert flag_views.showing_caption(groups[:1], groups) == "Showing 1 of 2 events."
