"""The fictional demo clinic's people and clinical courses: names, who treats whom, visit trajectories,
how and when episodes end, red-flag stories and how their escalations were closed.

Everything here is deterministic for a seed; data.demo writes it to the store. The walking tests come
from the catalogue (dashboard.catalogue), each capped and measured as its entry says.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from dashboard.catalogue import protocol
from dashboard.models import Episode, Patient, Visit
from dashboard.visit_form import ALL_NEGATIVE
from data.store import new_id

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
# Every row of the demo clinic is recorded by the demo clinician.
RECORDED_BY = _C
# Three patients in four walk the self-paced test (timed, and measured in metres), the rest the treadmill.
_SPWT, _TREADMILL = protocol("spwt"), protocol("treadmill_1_2mph")


def _clean_screen() -> dict[str, Any]:
    return dict(ALL_NEGATIVE)


def _review_in_days(rng: random.Random) -> int:
    """Days from today to the next review: about one patient in ten is overdue (by 1 to 6 days), the
    rest are due within the next eight weeks, as in a caseload that is kept up to date [U]."""
    offset = rng.randint(-20, 40)
    return offset if offset < -14 else offset + 14


def fictional_patient(rng: random.Random, index: int, clinician_id: str, today: dt.date) -> Patient:
    """The `index`-th fictional patient (aged 32 to 84, onset 4 to 13 months ago), under `clinician_id`."""
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
    walking_test = _SPWT if index % 4 else _TREADMILL
    cap = walking_test.cap_min
    assert cap is not None  # both of the demo's walking tests have a time cap
    measures_distance = any(metric.field == "walk_total_m" for metric in walking_test.metrics)
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
        total_min = min(cap, onset_min * rng.uniform(1.4, 2.2))
        values: dict[str, Any] = {
            "visit_date": visit_date,
            "pain_nrs": pain_now,
            "pain_worst_nrs": min(10, pain_now + rng.randint(0, 2)),
            "odi_sections": odi,
            "psfs": [{"activity": activity, "score": max(0, min(10, 3 - drift + rng.choice([-1, 0, 1])))}],
            "walk_protocol": walking_test.id,
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
        if measures_distance:
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


def at_hour(day: dt.date, hour: int) -> dt.datetime:
    """The time `hour` o'clock UTC on `day` (when the demo clinic saw or recorded something)."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def discharge_turn(index: int, username: str, seen: Counter[str], discharged: Counter[str]) -> str | None:
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


def open_course(
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


def discharged_course(
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


def re_referral(
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


def escalation_closure(
    rng: random.Random, urgency: str, opened: dt.datetime, episode: Episode, now: dt.datetime
) -> dict[str, Any]:
    """How a discharged episode's escalations were closed: one action for the whole event, within
    hours to days of opening and by the end of the discharge day (a discharge never closes them)."""
    action, detail, hours = CLOSURES[urgency]
    closed = opened + dt.timedelta(hours=rng.randint(1, hours))
    latest = at_hour(episode.discharge_date or opened.date(), 17) + dt.timedelta(minutes=30)
    return {
        "status": "closed",
        "closed_at": max(opened, min(closed, latest, now)),
        "closed_by": episode.clinician_id,
        "close_action": action,
        "close_detail": detail,
    }
