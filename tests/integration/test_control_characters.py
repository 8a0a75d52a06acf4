"""Control characters (NUL above all: PostgreSQL refuses it in text) are refused with a field message.

Runs on SQLite and, when STRIDE_TEST_POSTGRES_URL is set, on PostgreSQL (the `store` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest

from dashboard import services
from dashboard.models import CONTROL_CHARACTER_MESSAGE, CONTROL_CHARACTER_MESSAGE_MULTILINE
from dashboard.ports import InvalidInputError
from tests.integration.support import Team, counts, make_team, patient_values, visit_values

# NUL, escape, DEL and a C1 control; a line break is refused too in one-line fields.
CONTROL = ["\x00", "\x1b", "\x7f", "\x85"]


@pytest.fixture
def team(store: Any) -> Team:
    return make_team(store)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f"])
def test_a_search_holding_a_control_character_is_refused_with_a_message(store: Any, team: Team, char: str):
    services.register_patient(store, team.clinician, patient_values())
    with pytest.raises(InvalidInputError) as refused:
        services.find_patients(store, team.clinician, f"Zo{char}ë")
    assert refused.value.errors == {"query": "Search text cannot contain control characters."}


def test_a_search_with_a_tab_or_a_line_break_still_finds_the_patient(store: Any, team: Team):
    services.register_patient(store, team.clinician, patient_values())
    assert [p.patient_ref for p in services.find_patients(store, team.clinician, "Zoë\tŁukasz\n")] == [
        "INT-0001"
    ]


def test_a_reference_copied_from_a_page_with_its_invisible_word_joiners_still_finds_the_patient(
    store: Any, team: Team
):
    services.register_patient(store, team.clinician, patient_values(patient_ref="CLINIC:0042"))
    found = services.find_patients(store, team.clinician, "CLINIC:\u20600042")
    assert [p.patient_ref for p in found] == ["CLINIC:0042"]


@pytest.mark.parametrize("field", ["patient_ref", "given_name", "family_name"])
@pytest.mark.parametrize("char", [*CONTROL, "\n", "\r"])
def test_a_control_character_in_a_patient_field_is_refused_and_nothing_is_stored(
    store: Any, team: Team, field: str, char: str
):
    before = counts(store)
    value = f"A{char}B"
    with pytest.raises(InvalidInputError) as refused:
        services.register_patient(store, team.clinician, patient_values(**{field: value}))
    assert refused.value.errors == {field: CONTROL_CHARACTER_MESSAGE}
    assert value not in str(refused.value)
    assert counts(store) == before


def test_a_tab_inside_a_name_is_kept_as_typed(store: Any, team: Team):
    saved = services.register_patient(store, team.clinician, patient_values(family_name="Silva\tSantos"))
    assert services.open_patient(store, team.clinician, saved.id or "").patient.family_name == "Silva\tSantos"


def test_a_nul_byte_in_an_edit_is_refused_and_the_stored_patient_is_unchanged(store: Any, team: Team):
    saved = services.register_patient(store, team.clinician, patient_values())
    with pytest.raises(InvalidInputError) as refused:
        services.update_patient(
            store,
            team.clinician,
            saved.id or "",
            {"family_name": "Silva\x00"},
            expected_version=saved.version,
            reason="typo",
        )
    assert refused.value.errors == {"family_name": CONTROL_CHARACTER_MESSAGE}
    assert services.open_patient(store, team.clinician, saved.id or "").patient == saved


@pytest.mark.parametrize("char", CONTROL)
def test_a_control_character_in_visit_notes_is_refused_and_no_visit_is_saved(
    store: Any, team: Team, char: str
):
    patient = services.register_patient(store, team.clinician, patient_values())
    before = counts(store, patient.id)
    with pytest.raises(InvalidInputError) as refused:
        services.record_visit(store, team.clinician, patient.id or "", visit_values(notes=f"sore{char}back"))
    assert refused.value.errors == {"notes": CONTROL_CHARACTER_MESSAGE_MULTILINE}
    assert counts(store, patient.id) == before


def test_notes_keep_their_line_breaks_and_tabs(store: Any, team: Team):
    patient = services.register_patient(store, team.clinician, patient_values())
    notes = "Line one\r\nLine two\n\tindented"
    services.record_visit(store, team.clinician, patient.id or "", visit_values(notes=notes))
    assert services.open_patient(store, team.clinician, patient.id or "").visits[0].notes == notes


@pytest.mark.parametrize("char", ["\x00", "\n"])
def test_a_control_character_in_a_psfs_activity_is_refused_and_no_visit_is_saved(
    store: Any, team: Team, char: str
):
    patient = services.register_patient(store, team.clinician, patient_values())
    before = counts(store, patient.id)
    psfs = [{"activity": f"walk{char}ing", "score": 4}]
    with pytest.raises(InvalidInputError) as refused:
        services.record_visit(store, team.clinician, patient.id or "", visit_values(psfs=psfs))
    assert list(refused.value.errors) == ["psfs"]
    assert refused.value.errors["psfs"].endswith(CONTROL_CHARACTER_MESSAGE)
    assert counts(store, patient.id) == before


def test_a_nul_byte_in_a_reason_for_a_change_is_refused_and_nothing_changes(store: Any, team: Team):
    saved = services.register_patient(store, team.clinician, patient_values())
    with pytest.raises(InvalidInputError) as refused:
        services.set_patient_archived(
            store, team.clinician, saved.id or "", archived=True, reason="moved\x00"
        )
    assert refused.value.errors == {"reason": CONTROL_CHARACTER_MESSAGE_MULTILINE}
    assert services.open_patient(store, team.clinician, saved.id or "").patient == saved


def test_a_nul_byte_in_the_note_closing_an_escalation_is_refused_and_the_flag_stays_open(
    store: Any, team: Team
):
    saved = services.register_patient(store, team.clinician, patient_values())
    services.record_visit(store, team.clinician, saved.id or "", visit_values(saddle_anaesthesia="new"))
    [(escalation, _)] = [
        e for e in services.open_escalations(store, team.clinician) if e[0].rule_id == "RF_CES"
    ]
    with pytest.raises(InvalidInputError) as refused:
        services.close_escalation(
            store,
            team.clinician,
            escalation.id or "",
            action="other",
            detail="phoned\x00",
            expected_version=escalation.version,
        )
    assert refused.value.errors == {"close_detail": CONTROL_CHARACTER_MESSAGE_MULTILINE}
    assert escalation.id in {e.id for e, _ in services.open_escalations(store, team.clinician)}


@pytest.mark.parametrize("field", ["username", "display_name"])
def test_a_nul_byte_in_a_new_account_is_refused_and_no_account_is_made(store: Any, team: Team, field: str):
    values = {"username": "new.physio", "display_name": "New Physio", "role": "clinician"}
    values[field] += "\x00"
    with pytest.raises(InvalidInputError) as refused:
        services.create_user(store, team.admin, password="walk-the-long-way-home", **values)
    assert refused.value.errors == {field: CONTROL_CHARACTER_MESSAGE}
    assert "new.physio" not in {u.username for u in services.list_users(store, team.admin)}
