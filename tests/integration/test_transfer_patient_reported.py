"""The patient's own voice in the clinic archive and the subject-access download (issue 21), on SQLite
and PostgreSQL: invites (their token's hash only), check-in reports and diary entries round-trip, every
bad row is reported by file, row and field with nothing written, and an older archive still imports.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from data.transfer import export_clinic, export_patient, import_clinic
from tests.integration.support import (
    PatientVoice,
    add_patient_voice,
    counts,
    make_team,
    patient_seen_two_weeks_ago,
)
from tests.integration.test_transfer import CLINIC_KEY, _members, _without, _write_zip

FILES = ("invites.json", "patient_reports.json", "diary_entries.json")
Expected = list[tuple[str, int | None, str | None, str]]


@pytest.fixture(autouse=True)
def _clinic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIDE_CLINIC_KEY", CLINIC_KEY.hex())


@pytest.fixture
def clinic(store: Any) -> dict[str, Any]:
    """Two patients who each checked in and kept a diary; the first one's check-in reviewed at a visit."""
    team = make_team(store)
    ids, voices = [], []
    for ref, given in (("INT-0001", "Zoë"), ("INT-0002", "Oskar")):
        ids.append(patient_seen_two_weeks_ago(store, team.clinician, patient_ref=ref, given_name=given))
        voices.append(add_patient_voice(store, team.clinician, ids[-1]))
    with store.transaction() as tx:
        visit = tx.visits(ids[0])[0]
        assert tx.mark_report_reviewed(voices[0].report_id, visit.id or "")
    return {"ids": ids, "voices": voices}


def _records(store: Any, patient_id: str) -> tuple[list[Any], list[Any], list[Any]]:
    with store.read() as tx:
        return tx.invites(patient_id), tx.patient_reports(patient_id), tx.diary_entries(patient_id)


def test_invites_reports_and_diary_entries_survive_export_and_import_unchanged(
    clinic: dict[str, Any], store: Any, target: Any, tmp_path: Path
) -> None:
    first = tmp_path / "first.zip"
    manifest = export_clinic(store, first)
    assert [manifest.rows(name) for name in FILES] == [6, 2, 4]

    report = import_clinic(target, first)
    assert report.imported and report.errors == [], report.errors
    assert [report.counts[name] for name in FILES] == [6, 2, 4]
    for patient_id in clinic["ids"]:
        assert _records(target, patient_id) == _records(store, patient_id)
    (reviewed,) = _records(target, clinic["ids"][0])[1]
    assert reviewed.reviewed_visit_id is not None and reviewed.answers["bladder_dysfunction"] == "not_sure"

    second = tmp_path / "second.zip"
    export_clinic(target, second)
    a, b = _members(first), _members(second)
    assert [a[name] == b[name] for name in FILES] == [True, True, True]


def test_the_archive_holds_each_links_token_hash_and_never_a_token(
    clinic: dict[str, Any], store: Any, tmp_path: Path
) -> None:
    members = _members(export_clinic_to(store, tmp_path))
    invites = json.loads(members["invites.json"])
    assert all(len(i["token_hash"]) == 64 for i in invites)
    everything = b"".join(members.values())
    for voice in clinic["voices"]:
        assert not any(token.encode() in everything for token in voice.tokens)


def export_clinic_to(store: Any, tmp_path: Path) -> Path:
    out = tmp_path / "clinic.zip"
    export_clinic(store, out)
    return out


def test_an_archive_from_before_the_patients_voice_still_imports_with_none_of_it(
    clinic: dict[str, Any], store: Any, target: Any, tmp_path: Path
) -> None:
    members = _without(
        _members(export_clinic_to(store, tmp_path)), "invites", "patient_reports", "diary_entries"
    )
    report = import_clinic(target, _write_zip(tmp_path / "old.zip", members))
    assert report.imported and report.errors == [], report.errors
    assert _records(target, clinic["ids"][0]) == ([], [], [])
    with target.read() as tx:
        assert tx.get_patient(clinic["ids"][0]) is not None


# --- bad files: each edit names the errors it expects (file, row, field, words in the message) --------


def _edit(
    fname: str, change: Callable[[list[dict[str, Any]]], Expected]
) -> Callable[[dict[str, bytes]], Expected]:
    def edit(members: dict[str, bytes]) -> Expected:
        objects = json.loads(members[fname])
        expected = change(objects)
        members[fname] = json.dumps(objects).encode()
        return expected

    return edit


def _invite_of(members: dict[str, bytes], row: dict[str, Any], kind: str, *, other_patient: bool) -> str:
    invites = json.loads(members["invites.json"])
    return next(
        i["id"]
        for i in invites
        if i["kind"] == kind and (i["patient_id"] != row["patient_id"]) == other_patient
    )


def _set_field(fname: str, field: str, value: Any, words: str, *, where: str | None = None) -> Any:
    """Set one field of the first object (of the file) and expect an error on that field."""

    def change(objects: list[dict[str, Any]]) -> Expected:
        objects[0][field] = value
        return [(fname, 1, where or field, words)]

    return _edit(fname, change)


def _set_answer(name: str, value: Any, words: str, *, where: str | None = None) -> Any:
    def change(objects: list[dict[str, Any]]) -> Expected:
        objects[0]["answers"][name] = value
        return [("patient_reports.json", 1, where or f"answers.{name}", words)]

    return _edit("patient_reports.json", change)


def _point_at(
    fname: str, kind: str, *, other_patient: bool, words: str
) -> Callable[[dict[str, bytes]], Expected]:
    def edit(members: dict[str, bytes]) -> Expected:
        objects = json.loads(members[fname])
        objects[0]["invite_id"] = _invite_of(members, objects[0], kind, other_patient=other_patient)
        members[fname] = json.dumps(objects).encode()
        return [(fname, 1, "invite_id", words)]

    return edit


def _diary(field: str, value: Any, words: str) -> Any:
    def change(objects: list[dict[str, Any]]) -> Expected:
        objects[0][field] = value
        return [("diary_entries.json", 1, field, words)]

    return _edit("diary_entries.json", change)


def _duplicate_token_hash(objects: list[dict[str, Any]]) -> Expected:
    objects[1]["token_hash"] = objects[0]["token_hash"]
    return [("invites.json", 2, "token_hash", "duplicate (also in row 1)")]


def _second_report_of_one_link(members: dict[str, bytes]) -> Expected:
    reports = json.loads(members["patient_reports.json"])
    copy = {**reports[0], "id": str(uuid.UUID(int=9))}
    members["patient_reports.json"] = json.dumps([*reports, copy]).encode()
    return [("patient_reports.json", len(reports) + 1, "invite_id", "duplicate")]


def _episode_of_another_patient(objects: list[dict[str, Any]]) -> Expected:
    objects[0]["episode_id"] = next(
        o["episode_id"] for o in objects if o["patient_id"] != objects[0]["patient_id"]
    )
    return [("invites.json", 1, "episode_id", "no episode of this patient")]


def _not_a_list(members: dict[str, bytes]) -> Expected:
    members["diary_entries.json"] = b'{"walks": 3}'
    return [("diary_entries.json", None, None, "must be a JSON list")]


def _walk_after_it_was_recorded(objects: list[dict[str, Any]]) -> Expected:
    objects[0]["walk_date"] = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    return [("diary_entries.json", 1, "walk_date", "in the future")]


BAD_FILES = [
    pytest.param(
        _set_field("invites.json", "patient_id", str(uuid.UUID(int=5)), "no patient"), id="invite-no-patient"
    ),
    pytest.param(_set_field("invites.json", "token", "x" * 43, "unknown field"), id="invite-carries-a-token"),
    pytest.param(_set_field("invites.json", "token_hash", "abc", "SHA-256"), id="invite-hash-not-sha256"),
    pytest.param(
        _set_field("invites.json", "kind", "sms", "must be one of checkin"), id="invite-unknown-kind"
    ),
    pytest.param(
        _set_field("invites.json", "expires_at", "2001-01-01T00:00:00.000000Z", "after created_at"),
        id="invite-expired-before-made",
    ),
    pytest.param(
        _set_field("invites.json", "used_at", "yesterday", "UTC timestamp"), id="invite-bad-timestamp"
    ),
    pytest.param(_edit("invites.json", _duplicate_token_hash), id="invite-duplicate-hash"),
    pytest.param(_edit("invites.json", _episode_of_another_patient), id="invite-other-patients-episode"),
    pytest.param(
        _point_at(
            "patient_reports.json", "checkin", other_patient=True, words="no check-in link of this patient"
        ),
        id="report-of-another-patients-link",
    ),
    pytest.param(
        _point_at(
            "patient_reports.json", "diary", other_patient=False, words="no check-in link of this patient"
        ),
        id="report-through-a-diary-link",
    ),
    pytest.param(_second_report_of_one_link, id="report-twice-through-one-link"),
    pytest.param(_set_answer("pain_nrs", 11, "whole number from 0 to 10"), id="report-pain-out-of-range"),
    pytest.param(_set_answer("pain_nrs", "not_sure", "whole number"), id="report-pain-not-sure"),
    pytest.param(_set_answer("walk_total_min", 1e6, "minutes from 0 to 300"), id="report-walk-too-long"),
    pytest.param(
        _set_answer("saddle_anaesthesia", True, "yes, no or not sure"), id="report-symptom-not-mapped"
    ),
    pytest.param(
        _set_answer("favourite_colour", "blue", "not a check-in answer"), id="report-unknown-answer"
    ),
    pytest.param(
        _set_answer("Zoë Łukasz-Müller", 1, "not a check-in answer", where="answers"),
        id="report-answer-named-oddly",
    ),
    pytest.param(
        _set_answer("psfs", [{"activity": "Walking", "score": 12}], "score from 0 to 10"),
        id="report-psfs-out-of-range",
    ),
    pytest.param(
        _set_field("patient_reports.json", "answers", ["pain"], "JSON object"), id="report-answers-not-a-map"
    ),
    pytest.param(
        _set_field("patient_reports.json", "urgency", "PANIC", "must be one of NONE"), id="report-bad-urgency"
    ),
    pytest.param(
        _set_field(
            "patient_reports.json", "reviewed_visit_id", str(uuid.UUID(int=6)), "no visit of this patient"
        ),
        id="report-reviewed-by-unknown-visit",
    ),
    pytest.param(
        _point_at("diary_entries.json", "diary", other_patient=True, words="no diary link of this patient"),
        id="diary-of-another-patients-link",
    ),
    pytest.param(_diary("pain_during_nrs", 12, "from 0 to 10"), id="diary-pain-out-of-range"),
    pytest.param(_diary("pain_next_morning_nrs", -1, "from 0 to 10"), id="diary-next-morning-out-of-range"),
    pytest.param(_diary("walked_min", "twenty", "must be a number"), id="diary-minutes-not-a-number"),
    pytest.param(_diary("walked_min", 301, "from 0 to 300"), id="diary-walk-too-long"),
    pytest.param(
        _diary("symptom_onset_min", 25.0, "longer than the whole walk"), id="diary-onset-after-the-walk"
    ),
    pytest.param(_diary("pain_before_nrs", None, "required"), id="diary-pain-before-missing"),
    pytest.param(
        _edit("diary_entries.json", _walk_after_it_was_recorded), id="diary-walk-after-it-was-recorded"
    ),
    pytest.param(_not_a_list, id="diary-not-a-list"),
]


@pytest.mark.parametrize("edit", BAD_FILES)
def test_a_bad_row_is_reported_by_file_row_and_field_and_nothing_is_written(
    clinic: dict[str, Any],
    store: Any,
    target: Any,
    tmp_path: Path,
    edit: Callable[[dict[str, bytes]], Expected],
) -> None:
    members = _members(export_clinic_to(store, tmp_path))
    expected = edit(members)
    bad = _write_zip(tmp_path / "bad.zip", members)
    before = counts(target)
    for dry_run in (True, False):
        report = import_clinic(target, bad, dry_run=dry_run)
        assert report.refused is None and not report.imported and report.exit_code == 1
        for file, row, field, words in expected:
            assert any(
                e.file == file and e.row == row and e.field == field and words in e.message
                for e in report.errors
            ), (expected, report.errors)
        for error in report.errors:  # messages never echo what was in the file
            assert not any(secret in str(error) for secret in ("Zoë", "Łukasz", "twenty", "PANIC", "blue")), (
                error
            )
        assert counts(target) == before
        assert _records(target, clinic["ids"][0]) == ([], [], [])


# --- the subject-access download ---------------------------------------------------------------------


def test_the_subject_access_download_holds_the_patients_links_answers_and_diary_and_no_token_hash(
    clinic: dict[str, Any], store: Any, tmp_path: Path
) -> None:
    patient_id, other = clinic["ids"]
    voice: PatientVoice = clinic["voices"][0]
    members = _members(export_patient(store, patient_id, tmp_path / "sar.zip"))
    record = json.loads(members["patient.json"])
    invites, reports, diary = _records(store, patient_id)

    assert [i["id"] for i in record["invites"]] == [i.id for i in invites]
    assert all("token_hash" not in i for i in record["invites"])
    assert [i["kind"] for i in record["invites"]] == ["checkin", "diary", "checkin"]
    assert [i["revoked_at"] is not None for i in record["invites"]] == [False, False, True]
    assert all(i["expires_at"] > i["created_at"] for i in record["invites"])
    assert record["invites"][0]["used_at"] is not None

    (sent,) = record["patient_reports"]
    assert sent["id"] == voice.report_id == reports[0].id
    assert sent["answers"]["pain_nrs"] == 4 and sent["answers"]["bladder_dysfunction"] == "not_sure"
    assert [e["id"] for e in record["diary_entries"]] == list(voice.diary_ids) == [e.id for e in diary]
    assert [e["pain_next_morning_nrs"] for e in record["diary_entries"]] == [1, None]

    text = members["patient.json"].decode()
    assert other not in text
    for invite in invites:
        assert invite.token_hash not in text
    assert not any(token in text for token in voice.tokens)
