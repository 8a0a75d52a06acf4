"""The patient's own voice in an archive: invites.json, patient_reports.json and diary_entries.json
checked before anything is written (clinical-reference §12).

Every record belongs to a patient of patients.csv. A check-in report names a check-in link of the same
patient, a diary entry a diary link of the same patient; an episode or reviewing visit, when named, is
that patient's too. What a report or entry holds is checked by dashboard.patient_reported (the rules of
the patient's own form). An invite carries the SHA-256 of its token only: there is no token to export.
An archive from before these files (migration 0012) holds none of them and imports with none.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from dashboard.catalogue import TIERS
from dashboard.patient_reported import DiaryEntry, InviteKind, report_answer_problems, stored_diary_problems
from data.transfer.codec import Column
from data.transfer.layout import DIARY_ENTRY_KEYS, INVITE_KEYS, PATIENT_REPORT_KEYS
from data.transfer.reader import Reader, column_label

INVITE_KINDS: tuple[str, ...] = get_args(InviteKind)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
Row = tuple[int, dict[str, Any]]


def _records(reader: Reader, fname: str, keys: list[Column], patient_ids: set[str]) -> list[Row]:
    """The objects of one file with their keys checked, their patient present and their ids unique."""
    rows = reader.patient_records(fname, keys, patient_ids)
    dups = reader.duplicates(fname, [(n, v["id"]) for n, v in rows], "id")
    return [(n, v) for n, v in rows if v["id"] not in dups]


def _not_the_patients(row: dict[str, Any], name: str, owners: dict[str, str]) -> bool:
    """True when `name` names a record (episode, visit, invite) that is not this row's patient's."""
    value = row[name]
    return value is not None and owners.get(value) != row["patient_id"]


def _report(reader: Reader, fname: str, n: int, problems: list[tuple[str, str]]) -> bool:
    for name, message in problems:
        reader.error(fname, n, name, message)
    return not problems


def read_patient_reported(reader: Reader, patient_ids: set[str]) -> None:
    """Check the three files and keep their rows (as the tables take them) in `reader.out`."""
    episodes = {e["id"]: e["patient_id"] for e in reader.out.episodes}
    visits = {v["id"]: v["patient_id"] for v in reader.out.visits}
    no_episode = ("episode_id", "no episode of this patient with this id in episodes.json")

    invites: list[Row] = []
    for n, row in _records(reader, "invites.json", INVITE_KEYS, patient_ids):
        problems = []
        if row["kind"] not in INVITE_KINDS:
            problems.append(("kind", f"must be one of {', '.join(INVITE_KINDS)}"))
        if not _SHA256_HEX.fullmatch(row["token_hash"]):
            problems.append(("token_hash", "must be the SHA-256 of a token (64 lower-case hex digits)"))
        if row["expires_at"] <= row["created_at"]:
            problems.append(("expires_at", "must be after created_at"))
        if row["failed_identity_attempts"] < 0:
            problems.append(("failed_identity_attempts", "cannot be negative"))
        if _not_the_patients(row, "episode_id", episodes):
            problems.append(no_episode)
        if _report(reader, "invites.json", n, problems):
            invites.append((n, row))
    dup_hashes = reader.duplicates("invites.json", [(n, v["token_hash"]) for n, v in invites], "token_hash")
    reader.out.invites = [v for _n, v in invites if v["token_hash"] not in dup_hashes]
    links = {
        kind: {i["id"]: i["patient_id"] for i in reader.out.invites if i["kind"] == kind}
        for kind in INVITE_KINDS
    }

    reports: list[Row] = []
    for n, row in _records(reader, "patient_reports.json", PATIENT_REPORT_KEYS, patient_ids):
        problems = []
        if _not_the_patients(row, "invite_id", links["checkin"]):
            problems.append(("invite_id", "no check-in link of this patient with this id in invites.json"))
        if row["urgency"] not in TIERS:
            problems.append(("urgency", f"must be one of {', '.join(TIERS)}"))
        for name, message in report_answer_problems(row["answers"]).by_field.items():
            # An answer's name is shown only when it looks like a field name (a key might hold patient data).
            shown = f"answers.{name}" if column_label(name, 0) == name else "answers"
            problems.append((shown, message))
        if _not_the_patients(row, "episode_id", episodes):
            problems.append(no_episode)
        if _not_the_patients(row, "reviewed_visit_id", visits):
            problems.append(("reviewed_visit_id", "no visit of this patient with this id in visits.csv"))
        if _report(reader, "patient_reports.json", n, problems):
            reports.append((n, row))
    # A check-in link is used once: one report per invite.
    dup_invites = reader.duplicates(
        "patient_reports.json", [(n, v["invite_id"]) for n, v in reports], "invite_id"
    )
    reader.out.patient_reports = [v for _n, v in reports if v["invite_id"] not in dup_invites]

    for n, row in _records(reader, "diary_entries.json", DIARY_ENTRY_KEYS, patient_ids):
        problems = []
        if _not_the_patients(row, "invite_id", links["diary"]):
            problems.append(("invite_id", "no diary link of this patient with this id in invites.json"))
        if _not_the_patients(row, "episode_id", episodes):
            problems.append(no_episode)
        if row["version"] < 1:
            problems.append(("version", "must be 1 or more"))
        entry = DiaryEntry(
            row["walk_date"],
            row["walked_min"],
            row["symptom_onset_min"],
            row["pain_before_nrs"],
            row["pain_during_nrs"],
            row["pain_next_morning_nrs"],
        )
        problems.extend(stored_diary_problems(entry, row["recorded_at"].date()).by_field.items())
        if _report(reader, "diary_entries.json", n, problems):
            reader.out.diary_entries.append(row)
