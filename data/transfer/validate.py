"""What each file of an export must hold: users, patients, visits and their child tables, records.

Rows are checked with the models and against one another (ids unique, references to patients and
visits present); the instruments' child tables are checked against the catalogue's allowed answers
(dashboard.catalogue.INSTRUMENTS). Everything is collected before anything is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from typing import Any

from pydantic import ValidationError

from dashboard import auth
from dashboard.letters import LETTER_KINDS, RECIPIENTS
from dashboard.models import BOOKKEEPING_FIELDS, Episode, Escalation, Patient, Screening, Visit
from dashboard.safe_text import csv_uncell
from data.store import search_key, visit_columns
from data.transfer.audit import read_audit
from data.transfer.codec import Column, item_order
from data.transfer.layout import (
    BOOKKEEPING_KEYS,
    CHILD_TABLES,
    HANDOUT_KEYS,
    HANDOUT_PDF,
    LETTER_KEYS,
    LETTER_PDF,
    MODEL_MAX_LEN,
    PASSWORD_COLUMN,
    PATIENT_COLUMNS,
    REVISION_KEYS,
    UNUSABLE_PASSWORD,
    USER_COLUMNS,
    VISIT_COLUMNS,
    ChildTable,
)
from data.transfer.patient_reported import read_patient_reported
from data.transfer.reader import Parsed, Reader


class Validator(Reader):
    """Reads every file of an export and checks what it holds; `read_all` returns it ready to insert."""

    def read_meta(self) -> None:
        raw = self.members.get("meta.json")
        if raw is None:
            return
        data = self.parse_json("meta.json", raw)
        if data is None:
            return
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 64 for k, v in data.items()
        ):
            self.error("meta.json", None, None, "must map setting names (up to 64 characters) to text")
            return
        self.check_count("meta.json", len(data))
        self.out.meta = data

    def read_users(self) -> None:
        rows = list(self.csv_rows("users.csv", [*USER_COLUMNS, PASSWORD_COLUMN]))
        self.duplicates("users.csv", [(n, v["id"]) for n, v in rows], "id")
        self.duplicates("users.csv", [(n, v["username"]) for n, v in rows], "username")
        for row, values in rows:
            if values["role"] not in auth.ROLES:
                self.error("users.csv", row, "role", f"must be one of {', '.join(auth.ROLES)}")
                continue
            if not values["username"].strip() or not values["display_name"].strip():
                self.error(
                    "users.csv",
                    row,
                    "username" if not values["username"].strip() else "display_name",
                    "required",
                )
                continue
            password_hash = values.pop("password_hash", None)
            if not password_hash:
                self.out.passwords_missing += 1
                password_hash = UNUSABLE_PASSWORD
            defaults = {"recorded_by": None, "updated_by": None, "locked_until": None, "active": True}
            user = {**defaults, **self.with_bookkeeping(values), "password_hash": password_hash}
            user.setdefault("failed_logins", 0)
            self.out.users.append(user)

    def read_patients(self) -> dict[str, dict[str, Any]]:
        rows = list(self.csv_rows("patients.csv", PATIENT_COLUMNS))
        self.duplicates("patients.csv", [(n, v.get("id")) for n, v in rows], "id")
        dup_refs = self.duplicates(
            "patients.csv", [(n, v.get("patient_ref")) for n, v in rows], "patient_ref"
        )
        by_id: dict[str, dict[str, Any]] = {}
        for row, values in rows:
            try:
                patient = Patient.model_validate(self.with_bookkeeping(values))
            except (ValidationError, ValueError) as exc:
                self.model_errors("patients.csv", row, exc)
                continue
            if patient.patient_ref in dup_refs or patient.id in by_id:
                continue
            record = {
                **self.bookkeeping_values(patient),
                "patient_ref": patient.patient_ref,
                "search_key": search_key(patient.given_name, patient.family_name, patient.patient_ref),
                "clinician_id": patient.clinician_id,
                "next_review_date": patient.next_review_date,
                "data": patient.clinical_dict(),
            }
            by_id[patient.id or ""] = record
            self.out.patients.append(record)
        return by_id

    def with_bookkeeping(self, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults for the bookkeeping columns a hand-made file leaves out (or leaves empty)."""
        defaults = {"version": 1, "recorded_at": self.now, "updated_at": self.now, "archived": False}
        return {**defaults, **{k: v for k, v in values.items() if v is not None or k not in defaults}}

    @staticmethod
    def bookkeeping_values(record: Any) -> dict[str, Any]:
        return {name: getattr(record, name) for name in BOOKKEEPING_FIELDS}

    def read_children(self, visit_ids: dict[str, int]) -> dict[str, dict[str, Any]]:
        """Nested visit fields from the child tables, by visit id (only visits with rows appear)."""
        nested: dict[str, dict[str, Any]] = {}
        keyed: dict[str, dict[str, dict[Any, tuple[int, Any]]]] = {}
        for fname, table in CHILD_TABLES.items():
            by_visit: dict[str, dict[Any, tuple[int, Any]]] = {}
            keyed[fname] = by_visit
            for row, values in self.csv_rows(fname, table.columns):
                vid = values["visit_id"]
                if vid not in visit_ids:
                    self.error(fname, row, "visit_id", "no visit with this id in visits.csv")
                    continue
                key, value = values[table.item_column], values[table.answer_column]
                if table.extra_columns:  # an object per item (PSFS): its fields, then the answer
                    value = {name: values[name] for name in (*table.extra_columns, table.answer_column)}
                problem = _item_problem(table, key, values[table.answer_column])
                if problem:
                    self.error(fname, row, *problem)
                    continue
                entries = by_visit.setdefault(vid, {})
                if key in entries:
                    self.error(
                        fname,
                        row,
                        table.item_column,
                        f"duplicate for this visit (also in row {entries[key][0]})",
                    )
                    continue
                entries[key] = (row, value)
        for fname, by_visit in keyed.items():
            table = CHILD_TABLES[fname]
            for vid, entries in by_visit.items():
                collected: dict[Any, Any] = {k: v for k, (_row, v) in entries.items()}
                where = f"for the visit in visits.csv row {visit_ids[vid]}"
                result: Any
                if table.positional and table.instrument is not None:
                    count = table.instrument.item_count if table.complete else len(collected)
                    if sorted(collected) != list(range(1, count + 1)):
                        plural = f"{table.item_column}s"
                        self.error(
                            fname,
                            None,
                            table.item_column,
                            f"{plural} 1 to {count} {where} must all be present"
                            if table.complete
                            else f"{plural} {where} must run 1, 2, 3, ... without gaps",
                        )
                        continue
                    result = [collected[k] for k in range(1, count + 1)]
                elif table.instrument is not None:
                    result = {k: collected[k] for k in sorted(collected, key=item_order)}
                else:
                    result = set(collected)
                nested.setdefault(vid, {})[table.visit_field] = result
        return nested

    def read_visits(self, patients: dict[str, dict[str, Any]]) -> None:
        rows = list(self.csv_rows("visits.csv", VISIT_COLUMNS))
        dup_ids = self.duplicates("visits.csv", [(n, v.get("id")) for n, v in rows], "id")
        visit_rows: dict[str, int] = {}
        for n, values in rows:
            visit_rows.setdefault(values["id"], n)
        nested = self.read_children(visit_rows)
        known_patients = self.all_ids("patients.csv")
        for row, values in rows:
            if values["id"] in dup_ids:
                continue
            if values["patient_id"] not in known_patients:
                self.error("visits.csv", row, "patient_id", "no patient with this id in patients.csv")
                continue
            try:
                visit = Visit.model_validate(
                    {**self.with_bookkeeping(values), **nested.get(values["id"], {})}
                )
            except (ValidationError, ValueError) as exc:
                self.model_errors("visits.csv", row, exc)
                continue
            if visit.patient_id not in patients:
                continue  # the patient row itself had errors, already reported
            self.out.visits.append({**self.bookkeeping_values(visit), **visit_columns(visit)})

    def all_ids(self, fname: str) -> set[str]:
        """Every id in a CSV file's id column, even on rows with errors (for reference checks)."""
        raw = self.members.get(fname)
        if raw is None:
            return set()
        try:
            reader = csv.DictReader(io.StringIO(raw.decode("utf-8").removeprefix("\ufeff"), newline=""))
            ids = {row.get("id") or "" for row in reader}
        except (UnicodeDecodeError, csv.Error):
            return set()
        return {csv_uncell(i) for i in ids} if self.uncell else ids

    def read_records(
        self,
        fname: str,
        model: Any,
        columns: tuple[str, ...],
        target: list[dict[str, Any]],
        patient_ids: set[str],
        visit_ids: set[str],
    ) -> None:
        """Screenings or escalations: checked with their model; `columns` are the queryable ones."""
        items = self.json_list(fname)
        rows: list[tuple[int, dict[str, Any]]] = []
        for n, item in enumerate(items, start=1):
            checked = self.json_record(fname, n, item, BOOKKEEPING_KEYS, extra_ok=True)
            if checked is not None:
                rows.append((n, checked))
        dups = self.duplicates(fname, [(n, v["id"]) for n, v in rows], "id")
        for n, values in rows:
            try:
                record = model.model_validate(values)
            except (ValidationError, ValueError) as exc:
                self.model_errors(fname, n, exc)
                continue
            bad = False
            for name, limit in MODEL_MAX_LEN.items():
                value = getattr(record, name, None)
                if isinstance(value, str) and len(value) > limit:
                    self.error(fname, n, name, f"longer than {limit} characters")
                    bad = True
            if record.patient_id not in patient_ids:
                self.error(fname, n, "patient_id", "no patient with this id in patients.csv")
                bad = True
            visit_id = getattr(record, "visit_id", None)
            if visit_id is not None and visit_id not in visit_ids:
                self.error(fname, n, "visit_id", "no visit with this id in visits.csv")
                bad = True
            if bad or record.id in dups:
                continue
            payload = record.model_dump(mode="json", exclude=set(BOOKKEEPING_FIELDS))
            queryable = {name: payload[name] for name in columns}
            target.append({**self.bookkeeping_values(record), **queryable, "data": payload})

    def read_revisions(self, patient_ids: set[str]) -> None:
        rows = []
        for n, item in enumerate(self.json_list("revisions.json"), start=1):
            checked = self.json_record("revisions.json", n, item, REVISION_KEYS)
            if checked is None:
                continue
            if checked["patient_id"] is not None and checked["patient_id"] not in patient_ids:
                self.error("revisions.json", n, "patient_id", "no patient with this id in patients.csv")
                continue
            rows.append((n, checked))
        dups = self.duplicates("revisions.json", [(n, v["id"]) for n, v in rows], "id")
        self.out.revisions = [v for _n, v in rows if v["id"] not in dups]

    def read_pdf_records(
        self, fname: str, keys: list[Column], pattern: re.Pattern[str], patient_ids: set[str]
    ) -> list[tuple[int, dict[str, Any]]]:
        """The rows of a file of records that each carry a PDF (handouts, letters): keys checked, the
        patient present, the PDF in the archive under <folder>/<id>.pdf with the SHA-256 the row names
        (the PDF bytes replace its name); a PDF that no row names is an error too."""
        folder = fname.removesuffix(".json")
        rows = []
        for n, checked in self.patient_records(fname, keys, patient_ids):
            member = f"{folder}/{checked['id']}.pdf"
            if checked["pdf"] != member:
                self.error(fname, n, "pdf", f"must name {folder}/<id>.pdf")
                continue
            pdf = self.members.get(member)
            if pdf is None:
                self.error(fname, n, "pdf", "the PDF is missing from the archive")
                continue
            if hashlib.sha256(pdf).hexdigest() != checked["sha256"]:
                self.error(fname, n, "sha256", "does not match the PDF")
                continue
            checked["pdf"] = pdf
            rows.append((n, checked))
        dups = self.duplicates(fname, [(n, v["id"]) for n, v in rows], "id")
        referenced = {f"{folder}/{v['id']}.pdf" for _n, v in rows}
        for member in sorted(self.members):
            if pattern.fullmatch(member) and member not in referenced:
                self.error(member, None, None, f"no entry in {fname} refers to this PDF")
        return [(n, v) for n, v in rows if v["id"] not in dups]

    def read_handouts(self, patient_ids: set[str]) -> None:
        rows = self.read_pdf_records("handouts.json", HANDOUT_KEYS, HANDOUT_PDF, patient_ids)
        self.out.handouts = [v for _n, v in rows]

    def read_letters(self, patient_ids: set[str]) -> None:
        """letters.json: each letter's kind and recipient from dashboard.letters, its episode and the
        escalations it closed belonging to the same patient (a letter is the evidence of a closure)."""
        episode_patient = {e["id"]: e["patient_id"] for e in self.out.episodes}
        escalation_patient = {e["id"]: e["patient_id"] for e in self.out.escalations}
        for n, row in self.read_pdf_records("letters.json", LETTER_KEYS, LETTER_PDF, patient_ids):
            problems = []
            if row["kind"] not in LETTER_KINDS:
                problems.append(("kind", f"must be one of {', '.join(LETTER_KINDS)}"))
            if row["recipient"] not in RECIPIENTS:
                problems.append(("recipient", f"must be one of {', '.join(RECIPIENTS)}"))
            episode_id = row["episode_id"]
            if episode_id is not None and episode_patient.get(episode_id) != row["patient_id"]:
                problems.append(("episode_id", "no episode of this patient with this id in episodes.json"))
            if any(escalation_patient.get(e) != row["patient_id"] for e in row["escalation_ids"]):
                problems.append(("escalation_ids", "names an escalation that is not this patient's"))
            for name, message in problems:
                self.error("letters.json", n, name, message)
            if problems:
                continue
            content, escalation_ids = row.pop("content"), row.pop("escalation_ids")
            self.out.letters.append({**row, "data": {"content": content, "escalation_ids": escalation_ids}})

    def read_audit(self) -> None:
        read_audit(self)  # data/transfer/audit.py: the chain check lives with the rest of the audit code

    def read_all(self) -> Parsed:
        self.check_members()
        self.check_manifest()
        self.progress(0.1)
        self.read_meta()
        self.read_users()
        self.progress(0.15)
        patients = self.read_patients()
        self.progress(0.25)
        self.read_visits(patients)
        # References are checked against every id in the files; rows with errors are reported there.
        patient_ids, visit_ids = self.all_ids("patients.csv"), self.all_ids("visits.csv")
        self.progress(0.4)
        self.read_revisions(patient_ids)
        screening_columns = ("patient_id", "visit_id", "urgency", "rule_set_version")
        self.read_records(
            "screenings.json", Screening, screening_columns, self.out.screenings, patient_ids, visit_ids
        )
        escalation_columns = ("patient_id", "rule_id", "tier", "status")
        self.read_records(
            "escalations.json", Escalation, escalation_columns, self.out.escalations, patient_ids, visit_ids
        )
        self.out.has_episodes = "episodes.json" in self.members
        if self.out.has_episodes:
            episode_columns = ("patient_id", "status", "symptom_onset", "discharge_date")
            self.read_records(
                "episodes.json", Episode, episode_columns, self.out.episodes, patient_ids, visit_ids
            )
            for row in self.out.episodes:  # the Date columns take dates, not the payload's ISO text
                row["symptom_onset"] = dt.date.fromisoformat(row["symptom_onset"])
                if row["discharge_date"] is not None:
                    row["discharge_date"] = dt.date.fromisoformat(row["discharge_date"])
        self.read_handouts(patient_ids)
        self.read_letters(patient_ids)
        read_patient_reported(self, patient_ids)  # data/transfer/patient_reported.py
        self.read_audit()
        self.progress(0.5)
        return self.out


def _item_problem(table: ChildTable, key: Any, answer: Any) -> tuple[str, str] | None:
    """What is wrong with one child-table row's item or answer, by the catalogue (None: nothing)."""
    entry = table.instrument
    if entry is None:
        return None  # a finding: any one line of text (the Visit model checks it)
    code = str(key) if table.positional else key
    if code not in entry.allowed:
        first, last = (
            ("1", str(entry.item_count))
            if table.positional
            else entry.item_codes[:: len(entry.item_codes) - 1]
        )
        return table.item_column, f"must be {first} to {last}"
    allowed = entry.allowed[code]
    if answer is None or answer in allowed:
        return None  # an empty answer was already checked against the column (None only where allowed)
    answer_column = next(c for c in table.columns if c.name == table.answer_column)
    if answer_column.kind == "str":
        return table.answer_column, f"must be one of {', '.join(sorted(str(a) for a in allowed))}"
    if not table.positional:
        return table.answer_column, f"outside the coded range of {key}"
    numbers = sorted(int(a) for a in allowed if isinstance(a, int))
    empty = " or empty" if answer_column.nullable else ""
    return table.answer_column, f"must be {numbers[0]} to {numbers[-1]}{empty}"
