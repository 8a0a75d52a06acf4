"""A fictional demo clinic: believable, deterministic patients and visit trajectories.

`python -m data.demo --database-url URL [--patients N] [--seed S]` fills an empty database only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import insert

from dashboard import auth, governance
from dashboard.models import Episode, Patient, Visit
from dashboard.red_flags import rule_set_version, screen, to_screening
from dashboard.visit_form import ALL_NEGATIVE
from data import tables as t
from data.store import SqlStore, new_id, open_store, search_key, utcnow, visit_columns

DEMO_VERSION = "2"  # bump when the generator changes (benchmarks rebuild cached clinics on it)
# A fixed "today" keeps the clinic identical whenever it is generated.
DEMO_TODAY = dt.date(2026, 11, 2)
DEMO_ADMIN = "demo.admin"
DEMO_APPROVAL_NOTE = (
    "Demo clinic (fictional): the default rule set approved so its banners read as an approved "
    "clinic's would. A real clinic reviews the rule table and the hazard log before approving."
)

GIVEN = [
    "Amara",
    "Ben",
    "Chloé",
    "Dariusz",
    "Elif",
    "Farid",
    "Grace",
    "Hiroshi",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Mei",
    "Nikolai",
    "Olúwadámilọ́lá",
    "Priya",
    "Quentin",
    "Rosa",
    "Søren",
    "Tomás",
    "Úna",
    "Valentina",
    "Wen",
    "Xóchitl",
    "Yusuf",
    "Zoë",
    "Ayşe",
    "Björn",
    "Dimitra",
    "Mohammed",
]
FAMILY = [
    "Abbott",
    "Bergström",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fitzgerald",
    "García",
    "Haddad",
    "Ivanova",
    "Jovanović",
    "Kowalczyk",
    "Lefèvre",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Papadopoulos",
    "Quinn",
    "Rossi",
    "Sánchez",
    "Tanaka",
    "Ulrich",
    "Van der Berg",
    "Wiśniewski",
    "Yılmaz",
    "Zhang",
    "Łukasz-Müller",
]
# Names in other scripts, so every page is seen with them (issue 2: names in several scripts).
OTHER_SCRIPTS = [
    ("小龙", "李"),
    ("Αλεξάνδρα", "Παπαδάκη"),
    ("Дмитрий", "Смирнов"),
    ("فاطمة", "الحسن"),
    ("अनन्या", "शर्मा"),
    ("ひなた", "佐藤"),
]
TRAJECTORIES = ("improving", "improving", "plateau", "improving", "worsening", "improving")
POSTURE = ["forward_lean", "anterior_pelvic_tilt", "prolonged_standing_intolerance"]
FOOTWEAR = ["worn_cushioning", "high_heel", "poor_fit"]


def _clean_screen() -> dict[str, Any]:
    return dict(ALL_NEGATIVE)


def _review_in_days(rng: random.Random) -> int:
    """Days from today to the next review: about one patient in ten is overdue (by 1 to 6 days), the
    rest are due within the next eight weeks, as in a caseload that is kept up to date [U]."""
    offset = rng.randint(-20, 40)
    return offset if offset < -14 else offset + 14


def _patient(rng: random.Random, index: int, clinician_ids: list[str], today: dt.date) -> Patient:
    if index % 9 == 4:
        given, family = OTHER_SCRIPTS[(index // 9) % len(OTHER_SCRIPTS)]
    else:
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    age = rng.randint(32, 84)
    birth = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
    return Patient(
        id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        patient_ref=f"DEMO-{index + 1:05d}",
        given_name=given,
        family_name=family,
        birth_date=birth,
        sex=rng.choice(["F", "M", "F", "M", "X"]),
        symptom_onset=today - dt.timedelta(days=rng.randint(120, 400)),
        clinician_id=clinician_ids[index % len(clinician_ids)],
        next_review_date=today + dt.timedelta(days=_review_in_days(rng)),
        history_of_cancer=rng.random() < 0.05,
        osteoporosis=rng.random() < 0.08,
        prolonged_corticosteroids=rng.random() < 0.03,
        immunosuppressed=rng.random() < 0.02,
        iv_drug_use=False,
        smoker=rng.random() < 0.15,
    )


def _visits(rng: random.Random, patient: Patient, index: int, n_visits: int, today: dt.date) -> list[Visit]:
    trajectory = TRAJECTORIES[index % len(TRAJECTORIES)]
    protocol = "spwt" if index % 4 else "treadmill_1_2mph"
    neurogenic = index % 3 != 0
    start = max(patient.symptom_onset + dt.timedelta(days=7), today - dt.timedelta(days=7 * 2 * n_visits))
    nrs, odi_level, walk = rng.randint(5, 8), rng.randint(2, 4), rng.uniform(3.0, 9.0)
    step = {"improving": -1, "plateau": 0, "worsening": 1}[trajectory]
    activity = rng.choice(["Walking to the shops", "Standing to cook", "Gardening", "Walking the dog"])
    visits = []
    for n in range(n_visits):
        visit_date = start + dt.timedelta(days=14 * n + rng.randint(0, 2))
        if visit_date > today:
            break
        drift = step * n
        pain = max(0, min(10, nrs + round(drift * 0.6) + rng.choice([-1, 0, 0, 1])))
        odi: list[int | None] = [
            max(0, min(5, odi_level + round(drift * 0.3) + rng.choice([-1, 0, 1]))) for _ in range(10)
        ]
        if rng.random() < 0.3:
            odi[7] = None  # section 8 often does not apply
        onset_min = max(0.5, min(14.0, walk * (1 - 0.12 * drift) + rng.uniform(-0.5, 0.5)))
        cap = 30.0 if protocol == "spwt" else 15.0
        total_min = min(cap, onset_min * rng.uniform(1.4, 2.2))
        values: dict[str, Any] = {
            "visit_date": visit_date,
            "pain_nrs": pain,
            "pain_worst_nrs": min(10, pain + rng.randint(0, 2)),
            "odi_sections": odi,
            "psfs": [{"activity": activity, "score": max(0, min(10, 3 - drift + rng.choice([-1, 0, 1])))}],
            "walk_protocol": protocol,
            "walk_onset_min": round(onset_min, 1),
            "walk_total_min": round(total_min, 1),
            "walk_stop_reason": "time_cap" if total_min >= cap else "symptoms",
            "leg_pain_on_walking": neurogenic,
            "relief": "sitting_or_flexion" if neurogenic else None,
            "symptom_location": "buttock_thigh" if neurogenic else None,
            "shopping_cart_sign": neurogenic,
            "triggered_by_standing_alone": neurogenic,
            "pedal_pulses": "normal",
            "leg_weakness_mrc": 5,
            "posture_findings": set(rng.sample(POSTURE, rng.randint(0, 2))),
            "footwear_findings": set(rng.sample(FOOTWEAR, rng.randint(0, 1))),
            "notes": "Fictional demo visit.",
            **_clean_screen(),
        }
        if protocol == "spwt":
            speed_m_per_min = rng.uniform(55, 75)
            values["walk_onset_m"] = round(onset_min * speed_m_per_min)
            values["walk_total_m"] = round(total_min * speed_m_per_min)
        if n == 0:
            values["startback"] = {
                **{f"q{i}": rng.choice(["agree", "disagree"]) for i in range(1, 9)},
                "q9": rng.choice(["slightly", "moderately", "very_much"]),
            }
        if n > 0 and rng.random() < 0.25:
            # Routine follow-ups often leave some screening questions unasked: the banner says "ask now".
            for name in ("fever", "systemically_unwell", "night_pain", "trauma"):
                values[name] = None
        visits.append(
            Visit(id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), patient_id=patient.id, **values)
        )
    _add_red_flag_story(visits, index)
    return visits


def _add_red_flag_story(visits: list[Visit], index: int) -> None:
    """A few patients carry red-flag findings at their latest visit, so the flag queue has work."""
    if not visits or index % 17 != 3:
        return
    story = (index // 17) % 3
    latest = visits[-1]
    if story == 0:
        visits[-1] = latest.model_copy(update={"saddle_anaesthesia": "new"})
    elif story == 1:
        visits[-1] = latest.model_copy(update={"leg_weakness": "progressive", "leg_weakness_mrc": 3})
    else:
        visits[-1] = latest.model_copy(update={"unexplained_weight_loss": True, "night_pain": True})


def _bookkeeping(record_id: str, who: str | None, when: dt.datetime) -> dict[str, Any]:
    return {
        "id": record_id,
        "version": 1,
        "recorded_at": when,
        "updated_at": when,
        "recorded_by": who,
        "updated_by": who,
        "archived": False,
    }


def _chunks(rows: list[dict[str, Any]], size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def generate(
    store: SqlStore,
    *,
    patients: int = 60,
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
    with store.read() as tx:
        if tx.count_patients() or tx.users():
            raise RuntimeError(
                "The database already holds data; the demo clinic is only written to an empty one."
            )
    now = utcnow()
    user_rows, clinician_ids = [], []
    for username, (role, display) in auth.DEMO_USERS.items():
        user_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if role != "readonly":
            clinician_ids.append(user_id)
        user_rows.append(
            {
                **_bookkeeping(user_id, None, now),
                "username": username,
                "display_name": display,
                "role": role,
                "password_hash": auth.hash_password(auth.DEMO_PASSWORD),
                "active": True,
                "failed_logins": 0,
            }
        )
    author = clinician_ids[0]
    patient_rows, visit_rows, screening_rows, escalation_rows = [], [], [], []
    episode_rows: list[dict[str, Any]] = []
    for index in range(patients):
        patient = _patient(rng, index, clinician_ids, today)
        n_visits = max(1, visits_per_patient + rng.randint(-2, 2)) if index % 11 else 1
        visits = _visits(rng, patient, index, n_visits, today)
        stamp = now
        patient_rows.append(
            {
                **_bookkeeping(patient.id or "", author, stamp),
                "patient_ref": patient.patient_ref,
                "search_key": search_key(patient.given_name, patient.family_name, patient.patient_ref),
                "clinician_id": patient.clinician_id,
                "next_review_date": patient.next_review_date,
                "data": patient.clinical_dict(),
            }
        )
        # One open episode of care per patient (§11.1), holding all their visits.
        episode = Episode(
            id=new_id(),
            patient_id=patient.id or "",
            referral_date=visits[0].visit_date if visits else None,
            symptom_onset=patient.symptom_onset,
            clinician_id=patient.clinician_id,
        )
        episode_rows.append(
            {
                **_bookkeeping(episode.id or "", author, stamp),
                "patient_id": patient.id,
                "status": "open",
                "symptom_onset": episode.symptom_onset,
                "discharge_date": None,
                "data": episode.clinical_dict(),
            }
        )
        visits = [visit.model_copy(update={"episode_id": episode.id}) for visit in visits]
        for n, visit in enumerate(visits):
            when = dt.datetime.combine(visit.visit_date, dt.time(9 + n % 8), tzinfo=dt.UTC)
            visit_rows.append({**_bookkeeping(visit.id or "", author, when), **visit_columns(visit)})
        if visits:
            result = screen(patient, visits)
            screening = to_screening(result, patient.id or "", visits[-1].id)
            screening_id = new_id()
            screening_rows.append(
                {
                    **_bookkeeping(screening_id, author, now),
                    "patient_id": patient.id,
                    "visit_id": visits[-1].id,
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
            for flag in screening.flags:
                escalation_rows.append(
                    {
                        **_bookkeeping(new_id(), author, now),
                        "patient_id": patient.id,
                        "rule_id": flag.rule_id,
                        "tier": flag.tier,
                        "status": "open",
                        "data": {
                            "patient_id": patient.id,
                            "rule_id": flag.rule_id,
                            "tier": flag.tier,
                            "status": "open",
                            "reason": flag.reason,
                            "action": flag.action,
                            "timeframe": flag.timeframe,
                            "opened_at": now.isoformat(),
                            "last_screening_id": screening_id,
                            "closed_at": None,
                            "closed_by": None,
                            "close_action": None,
                            "close_detail": "",
                        },
                    }
                )
        if progress and index % 100 == 0:
            progress(0.8 * index / max(patients, 1))
    with store.transaction() as tx:
        conn = tx.conn
        conn.execute(insert(t.users), user_rows)
        for table, rows in (
            (t.patients, patient_rows),
            (t.episodes, episode_rows),
            (t.visits, visit_rows),
            (t.screenings, screening_rows),
            (t.escalations, escalation_rows),
        ):
            for chunk in _chunks(rows):
                conn.execute(insert(table), chunk)
        tx.refresh_summaries()
        tx.set_meta("demo", "true")
        tx.set_meta("demo_version", DEMO_VERSION)
        tx.set_meta("demo_seed", str(seed))
        tx.insert_audit(
            user_id=None,
            action="demo.generate",
            after={"patients": len(patient_rows), "visits": len(visit_rows)},
        )
    if approve_rules:
        with store.read() as tx:
            admin = tx.get_user_by_username(DEMO_ADMIN)
        if admin is not None:
            governance.approve_rule_set(store, admin, rule_set_version(), DEMO_APPROVAL_NOTE)
    if progress:
        progress(1.0)
    return {"patients": len(patient_rows), "visits": len(visit_rows), "escalations": len(escalation_rows)}


def main(argv: list[str] | None = None) -> int:
    """Command line: fill an empty database with the fictional demo clinic."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--patients", type=int, default=60)
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
            f"{counts['escalations']} open escalations in {time.perf_counter() - started:.1f} s."
        )
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
