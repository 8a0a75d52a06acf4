"""Invites, the identity check, check-in and diary through the services and a real store (issue 21).

Every test gets a fresh database through the shared `store` fixture (SQLite and PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from dashboard import checkin_services as cs
from dashboard import governance, services
from dashboard import patient_reported as pr
from dashboard.config import load_settings
from dashboard.patient_reported import Problems
from dashboard.ports import PermissionDeniedError
from tests.integration.support import audit_rows, make_team, offer_to_patients, patient_seen_two_weeks_ago

BORN = dt.date(1958, 4, 12)
SETTINGS = load_settings()
CES_YES = {"symptom_saddle": "yes"}


@pytest.fixture
def scene(store: Any) -> dict[str, Any]:
    team = make_team(store)
    return {"store": store, "team": team, "patient_id": patient_seen_two_weeks_ago(store, team.clinician)}


def invite(scene: dict[str, Any], kind: str = "checkin") -> cs.IssuedInvite:
    return cs.create_invite(scene["store"], scene["team"].clinician, scene["patient_id"], kind)  # type: ignore[arg-type]


def verified(scene: dict[str, Any], issued: cs.IssuedInvite) -> None:
    result = cs.check_identity(scene["store"], issued.token, BORN)
    assert result.outcome == "ok"


def every_stored_text(store: Any) -> str:
    """All of the database as text (every table, every row): what a stolen copy would show."""
    from data import tables as t

    with store.read() as tx:
        return "\n".join(
            repr(row) for table in t.metadata.sorted_tables for row in tx.conn.execute(table.select())
        )


def test_only_the_hash_of_a_token_is_stored_and_the_audit_names_its_fingerprint(
    scene: dict[str, Any],
) -> None:
    issued = invite(scene)
    stored = every_stored_text(scene["store"])
    assert issued.token not in stored
    assert pr.token_hash(issued.token) in stored
    (entry,) = [r for r in audit_rows(scene["store"]) if r.action == "invite.create"]
    assert entry.after["fingerprint"] == issued.invite.fingerprint
    assert issued.token not in repr(entry)


def test_a_read_only_user_cannot_send_a_link(scene: dict[str, Any]) -> None:
    with pytest.raises(PermissionDeniedError):
        cs.create_invite(scene["store"], scene["team"].readonly, scene["patient_id"], "checkin")


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-2], lambda t: t[::-1], lambda t: "x" * len(t), lambda t: ""]
)
def test_a_forged_or_truncated_link_opens_nothing(scene: dict[str, Any], mangle: Any) -> None:
    issued = invite(scene)
    assert cs.open_link(scene["store"], mangle(issued.token), SETTINGS) is None
    assert (
        cs.submit_checkin(scene["store"], mangle(issued.token), {"pain_nrs": "3"}, SETTINGS) == cs.LINK_CLOSED
    )


def test_before_the_identity_check_the_page_learns_only_the_clinics_name(scene: dict[str, Any]) -> None:
    view = cs.open_link(scene["store"], invite(scene).token, SETTINGS)
    assert view is not None and view.clinic_name == SETTINGS.clinic_name
    # Nothing of the patient's record travels with it: the view holds the invite and the clinic's name only.
    assert {f.name for f in dataclasses.fields(view)} == {"invite", "clinic_name"}


def test_five_wrong_dates_of_birth_lock_the_link_even_for_the_right_one(scene: dict[str, Any]) -> None:
    issued = invite(scene)
    for attempt in range(1, pr.IDENTITY_ATTEMPTS_MAX):
        result = cs.check_identity(scene["store"], issued.token, dt.date(1960, 1, attempt))
        assert (result.outcome, result.tries_left) == ("wrong", pr.IDENTITY_ATTEMPTS_MAX - attempt)
    result = cs.check_identity(scene["store"], issued.token, dt.date(1960, 2, 2))
    assert result.outcome == "locked"
    result = cs.check_identity(scene["store"], issued.token, BORN)
    assert result.outcome == "closed"
    assert cs.open_link(scene["store"], issued.token, SETTINGS) is None
    assert "invite.locked" in {r.action for r in audit_rows(scene["store"])}


def test_one_client_guessing_across_links_is_slowed_down(scene: dict[str, Any]) -> None:
    outcomes = []
    for _ in range(cs.CLIENT_FREE_TRIES + 1):
        issued = invite(scene)
        result = cs.check_identity(scene["store"], issued.token, dt.date(1960, 1, 1), client="10.0.0.9")
        outcomes.append(result.outcome)
    result = cs.check_identity(scene["store"], invite(scene).token, BORN, client="10.0.0.9")
    assert result.outcome == "throttled"
    result = cs.check_identity(scene["store"], invite(scene).token, BORN, client="10.0.0.10")
    assert result.outcome == "ok"


def test_a_check_in_is_stored_once_and_a_second_send_changes_nothing(scene: dict[str, Any]) -> None:
    issued = invite(scene)
    verified(scene, issued)
    answers = {"pain_nrs": "4", "walk_total_min": "12", "psfs_0": "5", "symptom_bladder": "not_sure"}
    sent = cs.submit_checkin(scene["store"], issued.token, answers, SETTINGS)
    assert isinstance(sent, cs.CheckinSubmitted)
    again = cs.submit_checkin(scene["store"], issued.token, answers, SETTINGS)
    assert again == cs.ALREADY_SENT
    with scene["store"].read() as tx:
        (report,) = tx.patient_reports(scene["patient_id"])
        assert tx.get_invite(issued.invite.id).used_at is not None  # type: ignore[union-attr]
    assert report.answers["pain_nrs"] == 4 and report.answers["bladder_dysfunction"] == pr.NOT_SURE
    assert report.answers["psfs"] == [{"activity": "Walking to the shop", "score": 5}]
    assert cs.open_link(scene["store"], issued.token, SETTINGS) is None
    assert cs.closed_message(scene["store"], issued.token) == cs.ALREADY_SENT


def test_bad_answers_are_refused_by_field_and_nothing_is_stored(scene: dict[str, Any]) -> None:
    issued = invite(scene)
    outcome = cs.submit_checkin(
        scene["store"], issued.token, {"pain_nrs": "7" * 100_000, "walk_total_min": "ten"}, SETTINGS
    )
    assert isinstance(outcome, Problems) and set(outcome.by_field) == {"pain_nrs", "walk_total_min"}
    with scene["store"].read() as tx:
        assert tx.patient_reports(scene["patient_id"]) == []
        assert tx.get_invite(issued.invite.id).used_at is None  # type: ignore[union-attr]


def test_a_send_after_the_link_expired_is_refused_and_nothing_is_stored(scene: dict[str, Any]) -> None:
    issued = invite(scene)
    later = issued.invite.expires_at + dt.timedelta(seconds=1)
    assert (
        cs.submit_checkin(scene["store"], issued.token, {"pain_nrs": "3"}, SETTINGS, now=later)
        == cs.LINK_CLOSED
    )
    with scene["store"].read() as tx:
        assert tx.patient_reports(scene["patient_id"]) == []


def test_a_revoked_link_opens_nothing_and_the_revocation_is_audited(scene: dict[str, Any]) -> None:
    issued = invite(scene)
    revoked = cs.revoke_invite(scene["store"], scene["team"].clinician, scene["patient_id"], issued.invite.id)
    assert pr.invite_state(revoked, dt.datetime.now(dt.UTC)) == "revoked"
    assert cs.open_link(scene["store"], issued.token, SETTINGS) is None
    assert cs.closed_message(scene["store"], issued.token) == cs.LINK_CLOSED
    assert "invite.revoke" in {r.action for r in audit_rows(scene["store"])}


def test_a_yes_to_saddle_numbness_opens_a_patient_reported_emergency_pinned_for_every_clinician(
    scene: dict[str, Any],
) -> None:
    issued = invite(scene)
    assert cs.is_emergency(cs.provisional_urgency(scene["store"], issued.token, CES_YES, SETTINGS))
    sent = cs.submit_checkin(scene["store"], issued.token, CES_YES, SETTINGS)
    assert isinstance(sent, cs.CheckinSubmitted) and sent.urgency == "EMERGENCY"
    with scene["store"].read() as tx:
        (escalation,) = [e for e in tx.escalations(patient_id=scene["patient_id"]) if e.tier == "EMERGENCY"]
        (screening,) = [s for s in tx.screenings(scene["patient_id"]) if s.source == "patient"]
    assert escalation.source == "patient" and escalation.status == "open"
    assert screening.visit_id is None
    for clinician in (scene["team"].clinician, scene["team"].colleague):
        pinned = services.flag_summary(scene["store"], clinician).emergencies
        assert [(p.patient_id, p.patient_reported) for p in pinned] == [(scene["patient_id"], True)]


def test_an_emergency_answer_is_recorded_before_the_form_is_sent_and_not_twice_after(
    scene: dict[str, Any],
) -> None:
    issued = invite(scene)
    assert cs.provisional_urgency(scene["store"], issued.token, CES_YES, SETTINGS, record=True) == "EMERGENCY"
    cs.submit_checkin(scene["store"], issued.token, CES_YES, SETTINGS)
    with scene["store"].read() as tx:
        emergencies = [e for e in tx.escalations(patient_id=scene["patient_id"]) if e.tier == "EMERGENCY"]
    assert len(emergencies) == 1


def test_patient_reported_answers_never_overwrite_the_clinicians_visit(scene: dict[str, Any]) -> None:
    with scene["store"].read() as tx:
        before = tx.visits(scene["patient_id"])
    cs.submit_checkin(scene["store"], invite(scene).token, {"pain_nrs": "9", **CES_YES}, SETTINGS)
    with scene["store"].read() as tx:
        assert tx.visits(scene["patient_id"]) == before


def test_diary_entries_go_through_a_diary_link_and_two_reds_say_ease_back(scene: dict[str, Any]) -> None:
    issued = invite(scene, "diary")
    today = dt.date.today()
    for days_ago, during in ((3, 2), (2, 7), (1, 8)):
        entry = cs.add_diary_entry(
            scene["store"],
            issued.token,
            {"walked_min": "20", "pain_before_nrs": "2", "pain_during_nrs": str(during)},
            today - dt.timedelta(days=days_ago),
            SETTINGS,
        )
        assert isinstance(entry, pr.DiaryEntry)
    details = cs.link_details(scene["store"], issued.token, SETTINGS)
    assert details is not None and len(details.diary) == 3
    assert details.ease_back is not None and "20 minutes" in details.ease_back
    with scene["store"].read() as tx:
        diary_flags = [
            e for e in tx.escalations(patient_id=scene["patient_id"]) if e.rule_id == "RF_DIARY_NOT_SETTLING"
        ]
    assert [(e.tier, e.source) for e in diary_flags] == [("ROUTINE_REVIEW", "patient")]
    # A check-in link cannot write the diary.
    assert (
        cs.add_diary_entry(scene["store"], invite(scene).token, {"walked_min": "5"}, today, SETTINGS)
        == cs.LINK_CLOSED
    )


def test_next_morning_pain_is_added_once_to_the_same_entry(scene: dict[str, Any]) -> None:
    issued = invite(scene, "diary")
    entry = cs.add_diary_entry(
        scene["store"],
        issued.token,
        {"walked_min": "15", "pain_before_nrs": "2", "pain_during_nrs": "3"},
        dt.date.today() - dt.timedelta(days=1),
        SETTINGS,
    )
    assert isinstance(entry, pr.DiaryEntry) and entry.id
    assert (
        cs.add_next_morning_pain(scene["store"], issued.token, entry.id, 4, entry.version, SETTINGS) is None
    )
    assert (
        cs.add_next_morning_pain(scene["store"], issued.token, entry.id, 1, entry.version, SETTINGS)
        is not None
    )
    details = cs.link_details(scene["store"], issued.token, SETTINGS)
    assert details is not None
    (stored,) = details.diary
    assert (
        stored.pain_next_morning_nrs == 4
        and pr.traffic_light(stored, SETTINGS.rules.diary_thresholds) == "red"
    )  # the 24-hour rule


def test_no_token_reaches_the_audit_trail(scene: dict[str, Any]) -> None:
    issued = invite(scene)
    cs.check_identity(scene["store"], issued.token, dt.date(1970, 1, 1))
    cs.submit_checkin(scene["store"], issued.token, {"pain_nrs": "3"}, SETTINGS)
    with scene["store"].read() as tx:
        trail = "\n".join(repr(r) for r in tx.conn.execute(text("SELECT * FROM audit")))
    assert issued.token not in trail


def test_each_worrying_answer_gets_the_advice_of_its_own_tier(scene: dict[str, Any]) -> None:
    issued = invite(scene)
    raw = {
        "symptom_saddle": "yes",
        "symptom_fever": "yes",
        "symptom_sexual": "yes",
        "symptom_night": "no",
        "pain_nrs": "5",
    }
    so_far = cs.answers_so_far(scene["store"], issued.token, raw, SETTINGS)
    tiers = so_far.by_question
    # Isolated sexual change is RF_CES_POSSIBLE: URGENT unless the clinic raises it (§3.3, §12.2).
    assert tiers == {"saddle": "EMERGENCY", "fever": "URGENT", "sexual": "URGENT"}
    assert so_far.urgency == "EMERGENCY"
    assert cs.answers_so_far(scene["store"], "x" * pr.TOKEN_LENGTH, raw, SETTINGS) == cs.AnswersSoFar(
        None, {}
    )


# --- licensed questionnaires on the check-in (§12.1), placeholder wording only ----------------------
def test_no_licensed_questionnaire_is_offered_and_its_answers_are_ignored_until_the_clinic_allows_it(
    scene: dict[str, Any],
) -> None:
    governance.record_licence(scene["store"], scene["team"].admin, "odi", "Licence 0000 (fictional)")
    issued = invite(scene)
    verified(scene, issued)
    details = cs.link_details(scene["store"], issued.token, SETTINGS)
    assert details is not None and details.instruments == ()  # a licence alone is not enough
    outcome = cs.submit_checkin(scene["store"], issued.token, {"pain_nrs": "3", "odi_1": "4"}, SETTINGS)
    assert isinstance(outcome, cs.CheckinSubmitted) and "odi_sections" not in outcome.report.answers


def test_a_check_in_stores_the_patients_odi_sections_when_the_clinic_offers_the_odi(
    scene: dict[str, Any],
) -> None:
    offer_to_patients(scene["store"], scene["team"].admin, "odi")
    issued = invite(scene)
    verified(scene, issued)
    details = cs.link_details(scene["store"], issued.token, SETTINGS)
    assert details is not None
    (odi,) = details.instruments
    assert odi.field_names[:2] == ["odi_1", "odi_2"] and odi.items[0].text == "Item 1 placeholder"
    refused = cs.submit_checkin(scene["store"], issued.token, {"odi_1": "9"}, SETTINGS)
    assert isinstance(refused, Problems) and set(refused.by_field) == {"odi_1"}
    raw = {"pain_nrs": "3"} | {f"odi_{i}": str(i % 6) for i in range(1, 10)}  # section 10 left blank
    outcome = cs.submit_checkin(scene["store"], issued.token, raw, SETTINGS)
    assert isinstance(outcome, cs.CheckinSubmitted)
    with scene["store"].read() as tx:
        (report,) = tx.patient_reports(scene["patient_id"])
    assert report.answers["odi_sections"] == [1, 2, 3, 4, 5, 0, 1, 2, 3, None]
    assert report.measurements()["odi_sections"] == report.answers["odi_sections"]
