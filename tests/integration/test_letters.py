"""Letters in the store (clinical-reference §13, issue 20): a referral letter closes a red-flag event as
its evidence, a discharge summary is written for a discharged episode; both are kept exactly as given,
hashed and audited, and a refusal writes nothing. SQLite and PostgreSQL through the `store` fixture.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest

from dashboard import episode_services, letter_services, services
from dashboard.config import Settings
from dashboard.letters import LetterContent
from dashboard.ports import InvalidInputError, NotFoundError, PermissionDeniedError
from reports import letters as letter_pdf
from tests.conftest import pdf_text
from tests.integration.support import audit_rows, counts, make_team, patient_values, visit_values

DAY1 = dt.date(2025, 2, 3)
DAY2 = dt.date(2025, 3, 3)
TOLD_AT = dt.datetime(2025, 3, 3, 10, 30, tzinfo=dt.UTC)
NOW = dt.datetime(2025, 3, 3, 11, 0, tzinfo=dt.UTC)
SETTINGS = Settings()
TOLD = "Go to the emergency department now; do not wait for your appointment."


@pytest.fixture
def scene(store: Any) -> dict[str, Any]:
    team = make_team(store)
    patient = services.register_patient(store, team.clinician, patient_values(smoker=True))
    services.record_visit(
        store,
        team.clinician,
        patient.saved_id,
        visit_values(DAY1, pain_nrs=7, walk_protocol="spwt", walk_total_m=200, walk_stop_reason="symptoms"),
    )
    return {"store": store, "team": team, "patient": patient}


def raise_ces(scene: dict[str, Any]) -> services.EscalationGroup:
    """A follow-up with new saddle numbness and bladder change: one RF_CES event."""
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    services.record_visit(
        store,
        team.clinician,
        patient.saved_id,
        visit_values(DAY2, pain_nrs=6, saddle_anaesthesia="new", bladder_dysfunction="new", night_pain=None),
    )
    (group,) = [
        g for g in services.open_escalation_groups(store, team.clinician) if g.patient.id == patient.id
    ]
    assert "RF_CES" in [e.rule_id for e in group.escalations]
    return group


def refer(
    scene: dict[str, Any],
    group: services.EscalationGroup,
    *,
    actor: Any = None,
    patient_id: str | None = None,
    **overrides: Any,
) -> Any:
    """refer_with_letter for the scene's patient by its clinician; any argument may be replaced."""
    arguments: dict[str, Any] = {
        "recipient": "emergency_department",
        "told": TOLD,
        "told_at": TOLD_AT,
        "settings": SETTINGS,
        "render": letter_pdf.render,
        "now": NOW,
    }
    return letter_services.refer_with_letter(
        scene["store"],
        actor or scene["team"].clinician,
        patient_id or scene["patient"].saved_id,
        group.versions,
        **{**arguments, **overrides},
    )


def test_a_ces_referral_letter_closes_the_event_with_the_letter_as_its_evidence(
    scene: dict[str, Any],
) -> None:
    store, patient = scene["store"], scene["patient"]
    letter, closed = refer(scene, raise_ces(scene))
    assert letter.sha256 == hashlib.sha256(letter.pdf).hexdigest()
    assert {e.status for e in closed} == {"closed"}
    assert {e.close_action for e in closed} == {"sent_to_ed"}
    assert {e.close_letter_id for e in closed} == {letter.id}
    assert set(letter.escalation_ids) == {e.id for e in closed}
    with store.read() as tx:
        (stored,) = tx.letters(patient.saved_id)
        assert not tx.escalations(patient_id=patient.saved_id, status="open")
    assert stored.pdf == letter.pdf  # downloadable again exactly as given
    text = pdf_text(stored.pdf)
    for expected in (
        "Emergency referral: suspected cauda equina syndrome",
        "emergency MRI within 4 hours",
        "RF_CES",
        "saddle",
        TOLD,
        "Told on 3 Mar 2025, 10:30",
        "Carla Clinician",
        "Risk factors recorded: Smoker",
        "Not asked:",
    ):
        assert expected in " ".join(text.split()), expected
    assert [row.action for row in audit_rows(store)].count("letter.give") == 1


def test_a_referral_to_the_gp_is_recorded_as_an_urgent_referral(scene: dict[str, Any]) -> None:
    letter, closed = refer(scene, raise_ces(scene), recipient="gp", reference="GP surgery ref 123")
    assert {e.close_action for e in closed} == {"urgent_referral"}
    assert all(
        "GP surgery ref 123" in e.close_detail and letter.sha256[:12] in e.close_detail for e in closed
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"recipient": None}, "recipient"),
        ({"recipient": "pharmacy"}, "recipient"),
        ({"told": "   "}, "told"),
        ({"told": "x" * 1001}, "told"),
        ({"told_at": None}, "told_at"),
        ({"told_at": NOW + dt.timedelta(hours=1)}, "told_at"),
        ({"reference": "r" * 1001}, "reference"),
        ({"reference": "ref\x00"}, "reference"),
    ],
)
def test_a_referral_letter_with_bad_input_is_refused_by_field_and_writes_nothing(
    scene: dict[str, Any], overrides: dict[str, Any], field: str
) -> None:
    group = raise_ces(scene)
    before = counts(scene["store"], scene["patient"].saved_id)
    with pytest.raises(InvalidInputError) as refused:
        refer(scene, group, **overrides)
    assert field in refused.value.errors
    assert counts(scene["store"], scene["patient"].saved_id) == before


def test_a_letter_for_another_patients_escalation_is_refused_and_writes_nothing(
    scene: dict[str, Any],
) -> None:
    store, team = scene["store"], scene["team"]
    group = raise_ces(scene)
    other = services.register_patient(store, team.clinician, patient_values(patient_ref="INT-0002"))
    before = counts(store, scene["patient"].saved_id)
    with pytest.raises(InvalidInputError, match="another patient"):
        refer(scene, group, patient_id=other.saved_id)
    assert counts(store, scene["patient"].saved_id) == before
    with store.read() as tx:
        assert not tx.letters(other.saved_id)


def test_a_letter_that_fails_to_print_leaves_the_escalation_open(scene: dict[str, Any]) -> None:
    group = raise_ces(scene)
    before = counts(scene["store"], scene["patient"].saved_id)

    def broken(content: LetterContent) -> bytes:
        raise RuntimeError("printer on fire")

    with pytest.raises(RuntimeError):
        refer(scene, group, render=broken)
    assert counts(scene["store"], scene["patient"].saved_id) == before


def test_a_closed_event_takes_no_second_letter_and_a_reader_writes_none(scene: dict[str, Any]) -> None:
    group = raise_ces(scene)
    with pytest.raises(PermissionDeniedError):
        refer(scene, group, actor=scene["team"].readonly)
    refer(scene, group)
    with pytest.raises(InvalidInputError, match="already closed"):
        refer(scene, group)


def discharge(scene: dict[str, Any]) -> Any:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    services.record_visit(
        store,
        team.clinician,
        patient.saved_id,
        visit_values(DAY2, pain_nrs=2, walk_protocol="spwt", walk_total_m=650, walk_stop_reason="symptoms"),
    )
    return episode_services.discharge(
        store, team.clinician, patient.saved_id, discharge_date=DAY2, reason="goals_met", today=DAY2
    )


def test_a_discharge_summary_gives_baseline_final_and_judgement_words(scene: dict[str, Any]) -> None:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    episode = discharge(scene)
    letter = letter_services.write_discharge_summary(
        store, team.clinician, patient.saved_id, episode.saved_id, settings=SETTINGS, render=letter_pdf.render
    )
    assert (letter.kind, letter.recipient, letter.episode_id) == ("discharge_summary", "gp", episode.id)
    text = " ".join(pdf_text(letter.pdf).split())
    for expected in (
        "Discharge summary",
        "First assessment 3 Feb 2025; discharged 3 Mar 2025; 2 visits",
        "Reason for discharge: Goals met",
        "Pain now (NRS) 7 (3 Feb 2025) 2 (3 Mar 2025)",
        "200 m (3 Feb 2025) → 650 m (3 Mar 2025)",
        "No red flag was raised in this episode",
        "No written plan was given in this episode",
    ):
        assert expected in text, expected
    (outcomes,) = [s for s in letter.content["sections"] if s["heading"] == "Outcome measures"]
    assert outcomes["table"][1] == [
        "Pain now (NRS)",
        "7 (3 Feb 2025)",
        "2 (3 Mar 2025)",
        "Clinically important improvement",
    ]
    with store.read() as tx:
        assert tx.letters(patient.saved_id)[0].pdf == letter.pdf


def test_a_discharge_summary_of_an_open_episode_or_another_patients_is_refused(scene: dict[str, Any]) -> None:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    with store.read() as tx:
        (episode,) = tx.episodes(patient.saved_id)
    write = letter_services.write_discharge_summary
    with pytest.raises(InvalidInputError, match="Discharge the episode first"):
        write(
            store,
            team.clinician,
            patient.saved_id,
            episode.saved_id,
            settings=SETTINGS,
            render=letter_pdf.render,
        )
    other = services.register_patient(store, team.clinician, patient_values(patient_ref="INT-0002"))
    with pytest.raises(NotFoundError):
        write(
            store,
            team.clinician,
            other.saved_id,
            episode.saved_id,
            settings=SETTINGS,
            render=letter_pdf.render,
        )
    assert counts(store, patient.saved_id)["letters"] == 0


def test_a_discharge_summary_lists_an_escalation_still_open(scene: dict[str, Any]) -> None:
    store, team, patient = scene["store"], scene["team"], scene["patient"]
    raise_ces(scene)
    episode = episode_services.discharge(
        store,
        team.clinician,
        patient.saved_id,
        discharge_date=DAY2,
        reason="referred_on",
        override_reason="Sent to the emergency department today",
        today=DAY2,
    )
    letter = letter_services.write_discharge_summary(
        store, team.clinician, patient.saved_id, episode.saved_id, settings=SETTINGS, render=letter_pdf.render
    )
    assert "STILL OPEN: RF_CES" in " ".join(pdf_text(letter.pdf).split())


def test_an_erasure_deletes_the_letters(scene: dict[str, Any]) -> None:
    from dashboard import governance

    store, team, patient = scene["store"], scene["team"], scene["patient"]
    refer(scene, raise_ces(scene))
    governance.erase_patient(
        store, team.admin, patient.saved_id, reason="Erasure request granted", request_reference="SAR-7"
    )
    with store.read() as tx:
        assert tx.letters(patient.saved_id) == []
