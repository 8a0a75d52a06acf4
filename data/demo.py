"""A fictional demo clinic: believable, deterministic patients, visit trajectories and episodes of care.

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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from dashboard import auth, governance
from dashboard.episodes import lookback_visits
from dashboard.models import Episode, FlagRecord, Patient, Visit
from dashboard.red_flags import rule_set_version, screen, to_screening
from dashboard.visit_form import ALL_NEGATIVE
from data import tables as t
from data.store import SqlStore, new_id, open_store, search_key, utcnow, visit_columns

DEMO_VERSION = "3"  # bump when the generator changes (benchmarks rebuild cached clinics on it)
# A fixed "today" keeps the clinic identical whenever it is generated.
DEMO_TODAY = dt.date(2026, 11, 2)
# The size of `make run`'s clinic: enough discharges for Blake's funnel point (§11.3) to fall outside
# the 95% limits (about 15 with an outcome) while Casey keeps too few to judge.
DEMO_PATIENTS = 120
DEMO_ADMIN = "demo.admin"
# The accounts of the first demo clinics (before the three added for the clinic outcomes).
ORIGINAL_ACCOUNTS = frozenset({"demo.clinician", "demo.admin", "demo.readonly"})
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

# Who treats whom: patient i goes to CASELOAD[i % 20] (usernames of auth.DEMO_USERS; _V is Avery,
# _K Casey). The demo clinician, Avery and Blake carry most of the caseload, the admin (the clinic
# lead) a few patients, and Casey, who joined recently, one in twenty.
_C, _A, _V, _B, _K = "demo.clinician", "demo.admin", "demo.avery", "demo.blake", "demo.casey"
CASELOAD = (_C, _B, _V, _A, _C, _B, _V, _K, _C, _B, _V, _C, _B, _V, _A, _C, _B, _V, _C, _B)
# DEMO-00001 to DEMO-00012 stay in treatment with the visits they have always had: the small clinics
# of the tests and the screenshots open them and record new visits.
IN_TREATMENT = 12
# One letter per discharged episode, in turn: I = pain improved (an NRS fall of 2 points, or more),
# N = not improved, X = seen once only (no outcome). Fixed turns rather than coin flips, so every seed
# and size of clinic tells the same story: about 78% improved for most, 27% for Blake.
USUAL_OUTCOMES = "IINIIXIINI"
LOW_OUTCOMES = "NINNXNNINNIN"


@dataclass(frozen=True)
class _Practice:
    """How one clinician's episodes end: the share discharged, their outcomes, when and how many."""

    discharged_share: float
    outcomes: str = USUAL_OUTCOMES
    within_days: int = 365  # discharges fall in the last `within_days` days
    at_most: int | None = None  # None: no limit


PRACTICE = {
    _C: _Practice(0.5),
    _A: _Practice(0.5),
    _V: _Practice(0.5),
    # Blake's patients stop attending more often, so more of Blake's episodes end.
    _B: _Practice(0.55, outcomes=LOW_OUTCOMES),
    # Casey, eight weeks at the clinic, has discharged two patients so far.
    _K: _Practice(0.5, within_days=56, at_most=2),
}
# Why an episode ended, by its outcome: weights as a clinic might see them [U].
DISCHARGE_REASONS = {
    "I": {"goals_met": 16, "self_discharged": 2, "other": 1},
    "N": {"referred_on": 3, "self_discharged": 3, "declined_further_care": 1, "goals_met": 1, "other": 1},
    "X": {"self_discharged": 3, "declined_further_care": 1},
}
DISCHARGE_NOTES = {
    "referred_on": ["Referred to the spinal surgical team.", "Referred to the pain management programme."],
    "other": [
        "Moved out of the area (fictional demo).",
        "Carries on with a community walking group and manages on their own.",
        "Listed for spinal surgery; physiotherapy stops until afterwards.",
    ],
}
# How an escalation raised during a discharged episode was closed before the discharge, by the most
# urgent tier of its event (one action for the whole event): action, text, longest delay in hours.
CLOSURES = {
    "EMERGENCY": ("sent_to_ed", "", 3),
    "URGENT": ("urgent_referral", "Urgent GP review asked for (fictional demo).", 96),
    "ROUTINE_REVIEW": ("other", "Plan reviewed with the patient before discharge (fictional demo).", 24 * 14),
}
# Of the patients discharged at least 150 days ago, this share has been re-referred since.
RE_REFERRED_SHARE = 0.25
RE_REFERRAL_AFTER_DAYS = 150


def _clean_screen() -> dict[str, Any]:
    return dict(ALL_NEGATIVE)


def _review_in_days(rng: random.Random) -> int:
    """Days from today to the next review: about one patient in ten is overdue (by 1 to 6 days), the
    rest are due within the next eight weeks, as in a caseload that is kept up to date [U]."""
    offset = rng.randint(-20, 40)
    return offset if offset < -14 else offset + 14


def _patient(rng: random.Random, index: int, clinician_id: str, today: dt.date) -> Patient:
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
        clinician_id=clinician_id,
        next_review_date=today + dt.timedelta(days=_review_in_days(rng)),
        history_of_cancer=rng.random() < 0.05,
        osteoporosis=rng.random() < 0.08,
        prolonged_corticosteroids=rng.random() < 0.03,
        immunosuppressed=rng.random() < 0.02,
        iv_drug_use=False,
        smoker=rng.random() < 0.15,
    )


def _visits(
    rng: random.Random,
    patient_id: str,
    index: int,
    n_visits: int,
    *,
    start: dt.date,
    until: dt.date,
    trajectory: str,
    pain: list[int] | None = None,
) -> list[Visit]:
    """Up to `n_visits` visits a fortnight apart from `start`, none after `until`; `pain` (one NRS per
    visit) replaces the trajectory's pain where an episode's outcome is decided beforehand."""
    protocol = "spwt" if index % 4 else "treadmill_1_2mph"
    neurogenic = index % 3 != 0
    nrs, odi_level, walk = rng.randint(5, 8), rng.randint(2, 4), rng.uniform(3.0, 9.0)
    step = {"improving": -1, "plateau": 0, "worsening": 1}[trajectory]
    activity = rng.choice(["Walking to the shops", "Standing to cook", "Gardening", "Walking the dog"])
    visits = []
    for n in range(n_visits):
        visit_date = start + dt.timedelta(days=14 * n + rng.randint(0, 2))
        if visit_date > until:
            break
        drift = step * n
        pain_now = max(0, min(10, nrs + round(drift * 0.6) + rng.choice([-1, 0, 0, 1])))
        if pain is not None:
            pain_now = pain[n]
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
            "pain_nrs": pain_now,
            "pain_worst_nrs": min(10, pain_now + rng.randint(0, 2)),
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
            Visit(id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), patient_id=patient_id, **values)
        )
    return visits


def _has_red_flag_story(index: int) -> bool:
    return index % 17 == 3


def _add_red_flag_story(visits: list[Visit], index: int) -> None:
    """A few patients carry red-flag findings at their latest visit, so the flag queue has work."""
    if not visits or not _has_red_flag_story(index):
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


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _discharge_turn(index: int, username: str, seen: Counter[str], discharged: Counter[str]) -> str | None:
    """The outcome letter of this patient's discharged episode, or None: they are in treatment.

    A clinician's k-th patient is discharged when k × share passes a whole number, which spreads the
    discharges evenly over their caseload (the first one stays in treatment)."""
    if index < IN_TREATMENT or _has_red_flag_story(index):
        return None  # a red-flag story is work for the queue, so it stays in the open caseload
    practice = PRACTICE[username]
    k = seen[username]
    seen[username] += 1
    if int((k + 1) * practice.discharged_share) == int(k * practice.discharged_share):
        return None
    if practice.at_most is not None and discharged[username] >= practice.at_most:
        return None
    turn = discharged[username]
    discharged[username] += 1
    return practice.outcomes[turn % len(practice.outcomes)]


def _pain_course(rng: random.Random, outcome: str, n_visits: int) -> list[int]:
    """NRS at each visit of a discharged episode, from a baseline of 5 to 8. I falls by 2 to 5 points,
    which judge_change always calls an important improvement; N falls by at most 1 point (short of
    both 2 points and 30% of the baseline) or rises. Visits in between wander a little."""
    baseline = rng.randint(5, 8)
    if outcome == "I":
        final = baseline - rng.randint(2, 5)
    elif outcome == "N":
        final = min(10, baseline + rng.choice([-1, 0, 0, 1, 2]))
    else:
        final = baseline
    last = max(n_visits - 1, 1)
    path = [baseline + round((final - baseline) * n / last) for n in range(n_visits)]
    for n in range(1, n_visits - 1):
        path[n] = max(0, min(10, path[n] + rng.choice([-1, 0, 1])))
    return path


def _open_course(
    rng: random.Random, patient: Patient, index: int, visits_per_patient: int, today: dt.date
) -> tuple[Episode, list[Visit]]:
    """The patient's episode in treatment, with visits up to today (the demo's course before episodes)."""
    n_visits = max(1, visits_per_patient + rng.randint(-2, 2)) if index % 11 else 1
    start = max(patient.symptom_onset + dt.timedelta(days=7), today - dt.timedelta(days=14 * n_visits))
    trajectory = TRAJECTORIES[index % len(TRAJECTORIES)]
    visits = _visits(rng, patient.id or "", index, n_visits, start=start, until=today, trajectory=trajectory)
    _add_red_flag_story(visits, index)
    episode = Episode(
        id=new_id(),
        patient_id=patient.id or "",
        referral_date=visits[0].visit_date if visits else None,
        symptom_onset=patient.symptom_onset,
        clinician_id=patient.clinician_id,
    )
    return episode, visits


def _discharged_course(
    rng: random.Random,
    patient: Patient,
    index: int,
    outcome: str,
    practice: _Practice,
    visits_per_patient: int,
    today: dt.date,
) -> tuple[Episode, list[Visit]]:
    """An episode discharged in the clinician's window before today, its visits ending on or before
    the discharge date, its pain course set by `outcome` (I, N or X) and a reason to match."""
    discharge = today - dt.timedelta(days=rng.randint(0, practice.within_days - 1))
    if outcome == "X":
        n_visits = 1
    else:
        n_visits = max(3 if outcome == "I" else 2, visits_per_patient + rng.randint(-2, 2))
    # The last visit falls 0 to 12 days before the discharge (visits drift by up to 2 days).
    start = discharge - dt.timedelta(days=14 * (n_visits - 1) + rng.randint(2, 12))
    trajectory = {"I": "improving", "X": "plateau"}.get(outcome) or rng.choice(["plateau", "worsening"])
    pain = _pain_course(rng, outcome, n_visits)
    visits = _visits(
        rng, patient.id or "", index, n_visits, start=start, until=discharge, trajectory=trajectory, pain=pain
    )
    weights = DISCHARGE_REASONS[outcome]
    reason = rng.choices(list(weights), weights=list(weights.values()))[0]
    episode = Episode.model_validate(
        {
            "id": new_id(),
            "patient_id": patient.id,
            "referral_date": visits[0].visit_date,
            # Onsets from days to most of a year before the first visit: every duration band (§11.3).
            "symptom_onset": start - dt.timedelta(days=rng.randint(10, 300)),
            "clinician_id": patient.clinician_id,
            "status": "discharged",
            "discharge_date": discharge,
            "discharge_reason": reason,
            "discharge_note": rng.choice(DISCHARGE_NOTES[reason]) if reason in DISCHARGE_NOTES else "",
        }
    )
    return episode, visits


def _re_referral(
    rng: random.Random,
    patient: Patient,
    index: int,
    discharged: dt.date,
    visits_per_patient: int,
    today: dt.date,
) -> tuple[Episode, list[Visit]]:
    """A new open episode: symptoms back 2 to 14 weeks after the discharge, visits up to today."""
    onset = discharged + dt.timedelta(days=rng.randint(14, 100))
    n_visits = max(1, visits_per_patient + rng.randint(-2, 2))
    start = max(onset + dt.timedelta(days=7), today - dt.timedelta(days=14 * n_visits))
    trajectory = TRAJECTORIES[index % len(TRAJECTORIES)]
    visits = _visits(rng, patient.id or "", index, n_visits, start=start, until=today, trajectory=trajectory)
    episode = Episode(
        id=new_id(),
        patient_id=patient.id or "",
        referral_date=visits[0].visit_date,
        symptom_onset=onset,
        clinician_id=patient.clinician_id,
    )
    return episode, visits


def _episode_row(episode: Episode, author: str, visits: list[Visit]) -> dict[str, Any]:
    # Recorded at the referral, so a re-referred patient's episodes read oldest first (the store
    # orders them by recorded_at); a discharged one was last changed by its clinician at discharge.
    row = _bookkeeping(episode.id or "", author, _at(episode.referral_date or visits[0].visit_date, 8))
    if episode.discharge_date is not None:
        row.update(updated_at=_at(episode.discharge_date, 17), updated_by=episode.clinician_id)
    return {
        **row,
        "patient_id": episode.patient_id,
        "status": episode.status,
        "symptom_onset": episode.symptom_onset,
        "discharge_date": episode.discharge_date,
        "data": episode.clinical_dict(),
    }


def _closure(
    rng: random.Random, urgency: str, opened: dt.datetime, episode: Episode, now: dt.datetime
) -> dict[str, Any]:
    """How a discharged episode's escalations were closed: one action for the whole event, within
    hours to days of opening and by the end of the discharge day (a discharge never closes them)."""
    action, detail, hours = CLOSURES[urgency]
    closed = opened + dt.timedelta(hours=rng.randint(1, hours))
    latest = _at(episode.discharge_date or opened.date(), 17) + dt.timedelta(minutes=30)
    return {
        "status": "closed",
        "closed_at": max(opened, min(closed, latest, now)),
        "closed_by": episode.clinician_id,
        "close_action": action,
        "close_detail": detail,
    }


def _escalation_row(
    flag: FlagRecord,
    patient_id: str,
    screening_id: str,
    author: str,
    opened: dt.datetime,
    closure: dict[str, Any] | None,
) -> dict[str, Any]:
    """The escalation of one fired rule: open, or closed as `closure` says (see _closure)."""
    row = _bookkeeping(new_id(), author, opened)
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
                **_bookkeeping(user_id, None, now),
                "username": username,
                "display_name": display,
                "role": role,
                "password_hash": password_hash,
                "active": True,
                "failed_logins": 0,
            }
        )
    author = user_ids[_C]
    patient_rows, visit_rows, screening_rows = [], [], []
    episode_rows: list[dict[str, Any]] = []
    escalation_rows: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    discharged: Counter[str] = Counter()
    for index in range(patients):
        username = CASELOAD[index % len(CASELOAD)]
        patient = _patient(rng, index, user_ids[username], today)
        outcome = _discharge_turn(index, username, seen, discharged)
        if outcome is None:
            courses = [_open_course(rng, patient, index, visits_per_patient, today)]
        else:
            ended = _discharged_course(
                rng, patient, index, outcome, PRACTICE[username], visits_per_patient, today
            )
            courses = [ended]
            ended_on = ended[0].discharge_date or today
            if (today - ended_on).days >= RE_REFERRAL_AFTER_DAYS and rng.random() < RE_REFERRED_SHARE:
                courses.append(_re_referral(rng, patient, index, ended_on, visits_per_patient, today))
            # The Patient carries the current episode's onset (data dictionary, Episode); nobody
            # reviews a discharged patient.
            current = courses[-1][0]
            patient = patient.model_copy(
                update={
                    "symptom_onset": current.symptom_onset,
                    "next_review_date": patient.next_review_date if current.is_open else None,
                }
            )
        patient_rows.append(
            {
                **_bookkeeping(patient.id or "", author, now),
                "patient_ref": patient.patient_ref,
                "search_key": search_key(patient.given_name, patient.family_name, patient.patient_ref),
                "clinician_id": patient.clinician_id,
                "next_review_date": patient.next_review_date,
                "data": patient.clinical_dict(),
            }
        )
        # Each episode holds its own visits; at most one is open, and it is the last (§11.1).
        episodes, all_visits, seen_at = [], [], now
        for episode, visits in courses:
            episodes.append(episode)
            episode_rows.append(_episode_row(episode, author, visits))
            visits = [visit.model_copy(update={"episode_id": episode.id}) for visit in visits]
            for n, visit in enumerate(visits):
                seen_at = _at(visit.visit_date, 9 + n % 8)
                visit_rows.append({**_bookkeeping(visit.id or "", author, seen_at), **visit_columns(visit)})
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
            _closure(rng, screening.urgency, screened_at, current, now)
            if screening.flags and not current.is_open
            else None
        )
        screening_rows.append(
            {
                **_bookkeeping(screening_id, author, screened_at),
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
    n_discharged = sum(1 for row in episode_rows if row["status"] == "discharged")
    n_open_escalations = sum(1 for row in escalation_rows if row["status"] == "open")
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
            after={
                "patients": len(patient_rows),
                "visits": len(visit_rows),
                "episodes": len(episode_rows),
                "discharged_episodes": n_discharged,
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
        "patients": len(patient_rows),
        "visits": len(visit_rows),
        "discharged_episodes": n_discharged,
        "escalations": n_open_escalations,
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
