"""The Plan & handout page's decisions without streamlit: a fresh review per patient, the starting walk
checked, the clinician's edits validated, escalation notices, file names and the wait for a handout."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard import page_keys
from dashboard.models import Escalation
from dashboard.plan import Plan, PlanItem, build_plan, escalation_warnings
from dashboard.plan_page import (
    checked_start_bout,
    edited_plan,
    escalation_notice,
    fresh_review,
    given_file_name,
    handout_file_name,
    is_first_open,
    item_caption,
    note_warning,
    programme_height,
    wait_for_new_handout,
)
from dashboard.ports import Handout, NotFoundError
from data.library import load_library
from tests.factories import make_patient, make_visit

K = page_keys.Plan
PLAN = build_plan(make_patient(), [make_visit(walk_protocol="reported", walk_total_min=10)], load_library())


def handout(n: int) -> Handout:
    return Handout(
        id=f"h{n}",
        patient_id="p-1",
        recorded_at=dt.datetime(2026, 5, 4, tzinfo=dt.UTC),
        recorded_by="u-1",
        sha256="ab" * 32,
        pdf=b"%PDF",
        plan={},
        rule_set_version="r",
        library_version="l",
    )


def test_a_new_patient_starts_a_fresh_review_and_other_keys_stay() -> None:
    session: dict[str, Any] = {
        K.AUDITED: "p-1",
        K.NOTE: "old note",
        K.INCLUDE + "x": False,
        "patient_id": "p-2",
    }
    assert is_first_open(session, "p-2") and not is_first_open(session, "p-1")
    fresh_review(session, "p-2")
    assert session == {K.AUDITED: "p-2", "patient_id": "p-2"}
    assert not is_first_open(session, "p-2")


def test_a_starting_walk_out_of_range_is_refused_with_its_message() -> None:
    assert checked_start_bout(None) == (None, None)
    assert checked_start_bout(4) == (4.0, None)
    minutes, problem = checked_start_bout(-3.0)
    assert minutes is None
    assert problem == "Starting walk length (minutes) must be between 0.5 and 180."
    assert checked_start_bout(181.0)[0] is None


def test_an_emergency_is_an_error_that_says_the_safety_net_leads() -> None:
    emergency = Escalation(patient_id="p-1", rule_id="RF_CES", tier="EMERGENCY", reason="saddle *numb*")
    [warning] = escalation_warnings([emergency])
    kind, text = escalation_notice(warning)
    assert kind == "error"
    assert text.startswith("**Open EMERGENCY escalation** (RF\\_CES): ")
    assert "Reason: saddle \\*numb\\*." in text and "leads with the safety net" in text


def test_a_routine_escalation_is_information_without_the_safety_first_words() -> None:
    routine = Escalation(patient_id="p-1", rule_id="RF_X", tier="ROUTINE_REVIEW", reason="review")
    kind, text = escalation_notice(escalation_warnings([routine])[0])
    assert kind == "info" and "safety net" not in text


def test_a_long_title_is_repeated_in_full_and_a_safety_net_item_says_it_is_always_printed() -> None:
    item = PlanItem(id="a", title="T" * 51, text="Walk daily.", bullets=["one", "two"])
    assert item_caption(item, always=True) == (
        f"**{'T' * 51}**. Always printed (clinical-reference §6). Walk daily.\n- one\n- two"
    )
    assert item_caption(PlanItem(id="b", title="Short", text="Rest."), always=False) == "Rest."


def test_the_programme_table_is_tall_enough_for_every_week() -> None:
    assert programme_height(6) == 35 * 7 + 3


def test_the_edited_plan_keeps_the_ticked_items_exercises_and_the_note() -> None:
    safety = PLAN.section("safety_net")
    edited, errors = edited_plan(PLAN, {"safety_net": safety}, PLAN.exercises[:1], "  Keep walking.  ")
    assert errors == [] and isinstance(edited, Plan)
    assert edited.section("safety_net") == safety and edited.section("core") == []
    assert edited.exercises == PLAN.exercises[:1] and edited.personal_note == "Keep walking."


def test_an_overlong_note_is_a_field_message_in_the_pages_words() -> None:
    edited, errors = edited_plan(PLAN, {}, [], "x" * 2001)
    assert edited is None
    assert len(errors) == 1 and errors[0].startswith("A personal note for the patient")


def test_a_note_that_recommends_a_belt_is_warned_about() -> None:
    assert note_warning("Keep walking.") is None
    warning = note_warning("Wear a lumbar belt.")
    assert warning is not None and "belt or corset" in warning


def test_file_names_carry_the_plan_date_or_the_day_given_and_the_hash() -> None:
    assert handout_file_name(dt.date(2026, 5, 4)) == "stride-plan-2026-05-04.pdf"
    assert (
        given_file_name({"date": "2026-05-04", "sha256": "0123456789ab"})
        == "stride-plan-2026-05-04-01234567.pdf"
    )


def test_the_page_waits_until_the_new_handout_is_stored() -> None:
    loads = iter([[handout(1)], [handout(1), handout(2)]])
    naps: list[float] = []
    found = wait_for_new_handout(lambda: next(loads), [handout(1)], 1, clock=lambda: 0.0, sleep=naps.append)
    assert [h.id for h in found] == ["h1", "h2"] and naps == [0.25, 0.25]


def test_the_wait_gives_up_after_its_seconds_or_when_the_record_cannot_be_read() -> None:
    ticks = iter([0.0, 1.0, 9.0])
    found = wait_for_new_handout(
        lambda: [handout(1)], [handout(1)], 1, clock=lambda: next(ticks), sleep=lambda _: None
    )
    assert len(found) == 1

    def unreadable() -> list[Handout]:
        raise NotFoundError("Patient not found.")

    assert wait_for_new_handout(unreadable, [], 0, clock=lambda: 0.0, sleep=lambda _: None) == []
