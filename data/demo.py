"""A fictional demo clinic: believable, deterministic patients, visit trajectories and episodes of care.

This module writes the clinic (accounts, rows, screening, the demo flag) and is its command line; the
people and their clinical courses are data.demo_courses'.

Five fictional clinicians share the caseload. Besides the patients in treatment, a good share of
episodes were discharged over the last twelve months (some patients re-referred since), so the clinic
outcomes (clinical-reference §11.3) have something to show: most clinicians' patients improve, Demo
Physio Blake's clearly less often, and Demo Physio Casey, new to the clinic, has too few discharges to
judge. `python -m data.demo --database-url URL [--patients N] [--seed S]` fills an empty database only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import insert

from dashboard import auth, governance
from dashboard.episodes import lookback_visits
from dashboard.models import Episode, FlagRecord, Visit
from dashboard.red_flags import rule_set_version, screen, to_screening
from dashboard.summaries import SUMMARY_VERSION
from data import tables as t
from data.demo_courses import (
    CASELOAD,
    PRACTICE,
    RE_REFERRAL_AFTER_DAYS,
    RE_REFERRED_SHARE,
    RECORDED_BY,
    at_hour,
    discharge_turn,
    discharged_course,
    escalation_closure,
    fictional_patient,
    open_course,
    re_referral,
)
from data.store import (
    SqlStore,
    SqlTx,
    episode_columns,
    first_version,
    new_id,
    open_store,
    patient_columns,
    utcnow,
    visit_columns,
)

DEMO_VERSION = "3"  # bump when the generator changes (benchmarks rebuild cached clinics on it)
# A fixed "today" keeps the clinic identical whenever it is generated.
DEMO_TODAY = dt.date(2026, 11, 2)
# The size of `make run`'s clinic: enough discharges for Blake's funnel point (§11.3) to fall outside
# the 95% limits (about 15 with an outcome) while Casey keeps too few to judge.
DEMO_PATIENTS = 120
WRITE_BATCH_PATIENTS = 5000  # patients generated before their rows are written (bounds memory)
DEMO_ADMIN = "demo.admin"
# The accounts of the first demo clinics (before the three added for the clinic outcomes).
ORIGINAL_ACCOUNTS = frozenset({"demo.clinician", "demo.admin", "demo.readonly"})
DEMO_APPROVAL_NOTE = (
    "Demo clinic (fictional): the default rule set approved so its banners read as an approved "
    "clinic's would. A real clinic reviews the rule table and the hazard log before approving."
)


def _chunks(rows: list[dict[str, Any]], size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _episode_row(episode: Episode, author: str, visits: list[Visit]) -> dict[str, Any]:
    # Recorded at the referral, so a re-referred patient's episodes read oldest first (the store
    # orders them by recorded_at); a discharged one was last changed by its clinician at discharge.
    row = first_version(episode.id or "", author, at_hour(episode.referral_date or visits[0].visit_date, 8))
    if episode.discharge_date is not None:
        row.update(updated_at=at_hour(episode.discharge_date, 17), updated_by=episode.clinician_id)
    return {**row, **episode_columns(episode)}


def _escalation_row(
    flag: FlagRecord,
    patient_id: str,
    screening_id: str,
    author: str,
    opened: dt.datetime,
    closure: dict[str, Any] | None,
) -> dict[str, Any]:
    """The escalation of one fired rule: open, or closed as `closure` says (see _closure)."""
    row = first_version(new_id(), author, opened)
    state: dict[str, Any] = {
        "status": "open",
        "closed_at": None,
        "closed_by": None,
        "close_action": None,
        "close_detail": "",
    }
    if closure is not None:
        state = {**closure, "closed_at": closure["closed_at"].isoformat()}
        row.update(updated_at=closure["closed_at"], updated_by=closure["closed_by"])
    return {
        **row,
        "patient_id": patient_id,
        "rule_id": flag.rule_id,
        "tier": flag.tier,
        "status": state["status"],
        "data": {
            "patient_id": patient_id,
            "rule_id": flag.rule_id,
            "tier": flag.tier,
            "reason": flag.reason,
            "action": flag.action,
            "timeframe": flag.timeframe,
            "opened_at": opened.isoformat(),
            "last_screening_id": screening_id,
            **state,
        },
    }


def generate(
    store: SqlStore,
    *,
    patients: int = DEMO_PATIENTS,
    seed: int = 20261102,
    visits_per_patient: int = 6,
    progress: Callable[[float], None] | None = None,
    today: dt.date = DEMO_TODAY,
    approve_rules: bool = True,
) -> dict[str, int]:
    """Fill an empty database with a fictional clinic and mark it as a demo; refuses any non-empty one.

    Every date is placed relative to `today` (the fixed DEMO_TODAY by default, so tests see the same
    clinic; `make run` passes the real date so visits are recent and reviews realistically due). The
    demo admin approves the default rule set, as a clinic would before use (approve_rules=False skips).
    """
    rng = random.Random(seed)
    # The clinicians added with the outcomes draw their ids from a stream of their own, so the
    # original accounts and the patients in treatment keep the values they had before.
    more_rng = random.Random(f"{seed}-clinicians")
    with store.read() as tx:
        if tx.count_patients() or tx.users():
            raise RuntimeError(
                "The database already holds data; the demo clinic is only written to an empty one."
            )
    now = utcnow()
    # One hash for every demo account: they share the published password, and each argon2 hash takes
    # tens of milliseconds (the small clinics of the tests are generated hundreds of times).
    password_hash = auth.hash_password(auth.DEMO_PASSWORD)
    user_rows, user_ids = [], {}
    for username, (role, display) in auth.DEMO_USERS.items():
        source = rng if username in ORIGINAL_ACCOUNTS else more_rng
        user_id = str(uuid.UUID(int=source.getrandbits(128), version=4))
        user_ids[username] = user_id
        user_rows.append(
            {
                **first_version(user_id, None, now),
                "username": username,
                "display_name": display,
                "role": role,
                "password_hash": password_hash,
                "active": True,
                "failed_logins": 0,
            }
        )
    author = user_ids[RECORDED_BY]
    patient_rows: list[dict[str, Any]] = []
    visit_rows: list[dict[str, Any]] = []
    screening_rows: list[dict[str, Any]] = []
    episode_rows: list[dict[str, Any]] = []
    escalation_rows: list[dict[str, Any]] = []
    written: Counter[str] = Counter()

    def write_batch(tx: SqlTx) -> None:
        # Rows go to the database a batch of patients at a time, with their summaries, so a clinic of
        # 100,000 patients (1.2 million visits) never sits in memory whole; one transaction in all.
        for table, rows in (
            (t.patients, patient_rows),
            (t.episodes, episode_rows),
            (t.visits, visit_rows),
            (t.screenings, screening_rows),
            (t.escalations, escalation_rows),
        ):
            for chunk in _chunks(rows):
                tx.conn.execute(insert(table), chunk)
        tx.refresh_summaries([str(row["id"]) for row in patient_rows])
        written["patients"] += len(patient_rows)
        written["visits"] += len(visit_rows)
        written["episodes"] += len(episode_rows)
        written["discharged_episodes"] += sum(row["status"] == "discharged" for row in episode_rows)
        written["escalations"] += sum(row["status"] == "open" for row in escalation_rows)
        for rows in (patient_rows, episode_rows, visit_rows, screening_rows, escalation_rows):
            rows.clear()

    seen: Counter[str] = Counter()
    discharged: Counter[str] = Counter()
    with store.transaction() as tx:
        tx.conn.execute(insert(t.users), user_rows)
        for index in range(patients):
            username = CASELOAD[index % len(CASELOAD)]
            patient = fictional_patient(rng, index, user_ids[username], today)
            outcome = discharge_turn(index, username, seen, discharged)
            if outcome is None:
                courses = [open_course(rng, patient, index, visits_per_patient, today)]
            else:
                ended = discharged_course(
                    rng, patient, index, outcome, PRACTICE[username], visits_per_patient, today
                )
                courses = [ended]
                ended_on = ended[0].discharge_date or today
                if (today - ended_on).days >= RE_REFERRAL_AFTER_DAYS and rng.random() < RE_REFERRED_SHARE:
                    courses.append(re_referral(rng, patient, index, ended_on, visits_per_patient, today))
                # The Patient carries the current episode's onset (data dictionary, Episode); nobody
                # reviews a discharged patient.
                current = courses[-1][0]
                patient = patient.model_copy(
                    update={
                        "symptom_onset": current.symptom_onset,
                        "next_review_date": patient.next_review_date if current.is_open else None,
                    }
                )
            patient_rows.append({**first_version(patient.id or "", author, now), **patient_columns(patient)})
            # Each episode holds its own visits; at most one is open, and it is the last (§11.1).
            episodes, all_visits, seen_at = [], [], now
            for episode, visits in courses:
                episodes.append(episode)
                episode_rows.append(_episode_row(episode, author, visits))
                visits = [visit.model_copy(update={"episode_id": episode.id}) for visit in visits]
                for n, visit in enumerate(visits):
                    seen_at = at_hour(visit.visit_date, 9 + n % 8)
                    visit_rows.append(
                        {**first_version(visit.id or "", author, seen_at), **visit_columns(visit)}
                    )
                all_visits.extend(visits)
            current = episodes[-1]
            # Screening reads the current episode's visits, and the previous episode's last visit after a
            # re-referral within 12 weeks (§11.1), as services.record_visit does.
            current_visits = [v for v in all_visits if v.episode_id == current.id]
            lookback = lookback_visits(episodes, all_visits) if len(episodes) > 1 else []
            result = screen(patient, current_visits, lookback=lookback)
            screening = to_screening(result, patient.id or "", current_visits[-1].id)
            screening_id = new_id()
            # A discharged episode's screening dates from its last visit, and its escalations were closed.
            screened_at = now if current.is_open else seen_at
            closure = (
                escalation_closure(rng, screening.urgency, screened_at, current, now)
                if screening.flags and not current.is_open
                else None
            )
            screening_rows.append(
                {
                    **first_version(screening_id, author, screened_at),
                    "patient_id": patient.id,
                    "visit_id": current_visits[-1].id,
                    "urgency": screening.urgency,
                    "rule_set_version": screening.rule_set_version,
                    "data": screening.model_dump(
                        mode="json",
                        include={
                            "patient_id",
                            "visit_id",
                            "urgency",
                            "flags",
                            "not_asked",
                            "notes",
                            "claudication_pattern",
                            "rule_set_version",
                        },
                    ),
                }
            )
            escalation_rows.extend(
                _escalation_row(flag, patient.id or "", screening_id, author, screened_at, closure)
                for flag in screening.flags
            )
            if progress and index % 100 == 0:
                progress(0.8 * index / max(patients, 1))
            if len(patient_rows) >= WRITE_BATCH_PATIENTS:
                write_batch(tx)
        write_batch(tx)
        tx.set_meta("summary_version", SUMMARY_VERSION)  # every patient's summary was written above
        tx.set_meta("demo", "true")
        tx.set_meta("demo_version", DEMO_VERSION)
        tx.set_meta("demo_seed", str(seed))
        tx.insert_audit(
            user_id=None,
            action="demo.generate",
            after={
                "patients": written["patients"],
                "visits": written["visits"],
                "episodes": written["episodes"],
                "discharged_episodes": written["discharged_episodes"],
            },
        )
    if approve_rules:
        with store.read() as tx:
            admin = tx.get_user_by_username(DEMO_ADMIN)
        if admin is not None:
            governance.approve_rule_set(store, admin, rule_set_version(), DEMO_APPROVAL_NOTE)
    if progress:
        progress(1.0)
    return {
        "patients": written["patients"],
        "visits": written["visits"],
        "discharged_episodes": written["discharged_episodes"],
        "escalations": written["escalations"],
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: fill an empty database with the fictional demo clinic."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--patients", type=int, default=DEMO_PATIENTS)
    parser.add_argument("--visits", type=int, default=6, help="about this many visits per patient")
    parser.add_argument("--seed", type=int, default=20261102)
    parser.add_argument("--if-empty", action="store_true", help="do nothing (exit 0) when it holds data")
    parser.add_argument(
        "--today", action="store_true", help="date the clinic from today (default: the fixed demo date)"
    )
    args = parser.parse_args(argv)
    store = open_store(args.database_url)
    try:
        with store.read() as tx:
            has_data = bool(tx.count_patients() or tx.users())
        if has_data:
            if args.if_empty:
                print("Database already holds data: demo clinic not written.")
                return 0
            print(
                "Refused: the database already holds data; the demo clinic is only written to an empty one.",
                file=sys.stderr,
            )
            return 2
        started = time.perf_counter()
        counts = generate(
            store,
            patients=args.patients,
            seed=args.seed,
            visits_per_patient=args.visits,
            today=dt.date.today() if args.today else DEMO_TODAY,
        )
        print(
            f"Fictional demo clinic written: {counts['patients']} patients, {counts['visits']} visits, "
            f"{counts['discharged_episodes']} discharged episodes, {counts['escalations']} open escalations "
            f"in {time.perf_counter() - started:.1f} s."
        )
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
