"""The visit form's vocabulary: choices, screening groups, neutral item labels, and the mapping between
form state (a flat dict of widget values) and Visit fields, including the copy-forward rules and the
patient-reported measurements a new visit's form starts from (clinical-reference §12.1).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from dashboard.catalogue import INSTRUMENTS, STOP_REASONS, WALK_PROTOCOLS
from dashboard.models import WALK_CAP_MIN, Patient, Visit
from dashboard.page_keys import Visit as Keys
from dashboard.patient_reported import PatientReport
from dashboard.presenters import FIELD_LABELS
from dashboard.red_flags import ACTIVE_CHANGE, CES_FEATURES
from dashboard.summaries import WALK_TEST_FIELDS
from dashboard.walking import WALKING_SYMPTOM_FIELDS, walking_symptoms_assessed

NOT_ASKED = "not asked"
YES_NO = {None: NOT_ASKED, True: "yes", False: "no"}
CHANGE4 = {
    None: NOT_ASKED,
    "none": "no",
    "new": "new",
    "worsening": "worsening",
    "chronic_stable": "long-standing, unchanged",
}
CHOICES: dict[str, dict[Any, str]] = {
    "walk_protocol": {
        None: "no walking test today",
        **{p.id: p.form_label for p in WALK_PROTOCOLS.values()},
    },
    "walk_stop_reason": {
        None: "not recorded",
        **{r.id: r.form_label for r in STOP_REASONS.values()},
    },
    "leg_pain_on_walking": {None: "not assessed", True: "yes", False: "no"},
    "relief": {
        None: "not assessed",
        "sitting_or_flexion": "sitting or bending forward",
        "standing_still": "standing still",
        "none": "nothing",
    },
    "symptom_location": {
        None: "not assessed",
        "buttock_thigh": "buttock or thigh",
        "calf": "calf",
        "mixed": "mixed",
        "none": "none",
    },
    "shopping_cart_sign": {None: "not assessed", True: "yes", False: "no"},
    "triggered_by_standing_alone": {None: "not assessed", True: "yes", False: "no"},
    "pedal_pulses": {
        "not_assessed": "not assessed",
        "normal": "normal",
        "reduced_or_absent": "reduced or absent",
    },
    "saddle_anaesthesia": CHANGE4,
    "bladder_dysfunction": CHANGE4,
    "bowel_dysfunction": CHANGE4,
    "sexual_dysfunction": CHANGE4,
    "bilateral_radicular_pain": CHANGE4,
    "new_radicular_pain": YES_NO,
    "leg_weakness": {
        None: NOT_ASKED,
        "none": "no",
        "new": "new",
        "stable": "stable",
        "progressive": "progressive",
    },
    "difficulty_walking_new": YES_NO,
    "fever": YES_NO,
    "systemically_unwell": YES_NO,
    "recent_infection": YES_NO,
    "unexplained_weight_loss": YES_NO,
    "night_pain": YES_NO,
    "trauma": {None: NOT_ASKED, "none": "no", "minor": "minor", "major": "major"},
    "sudden_severe_pain": YES_NO,
    "pulsatile_abdominal_mass": YES_NO,
    "rest_pain_or_tissue_loss": YES_NO,
    "startback_agree": {None: "blank", "agree": "agree", "disagree": "disagree"},
    "startback_q9": {
        None: "blank",
        "not_at_all": "not at all",
        "slightly": "slightly",
        "moderately": "moderately",
        "very_much": "very much",
        "extremely": "extremely",
    },
}

# Screening groups, each with one "asked: all negative" control (issue 3); values are the negative answers.
SCREENING_GROUPS: dict[str, dict[str, Any]] = {
    "ces": {
        "title": "Cauda equina (ask at every visit)",
        "fields": {
            "saddle_anaesthesia": "none",
            "bladder_dysfunction": "none",
            "bowel_dysfunction": "none",
            "sexual_dysfunction": "none",
            "bilateral_radicular_pain": "none",
        },
    },
    "neuro": {
        "title": "Neurology",
        "fields": {"leg_weakness": "none", "new_radicular_pain": False, "difficulty_walking_new": False},
        "measurements": ("leg_weakness_mrc",),
    },
    "infection": {
        "title": "Infection and systemic illness",
        "fields": {"fever": False, "systemically_unwell": False, "recent_infection": False},
        "measurements": ("temperature_c",),
    },
    "malignancy": {"title": "Malignancy", "fields": {"unexplained_weight_loss": False, "night_pain": False}},
    "fracture": {"title": "Fracture", "fields": {"trauma": "none", "sudden_severe_pain": False}},
    "vascular": {
        "title": "Vascular",
        "fields": {"pulsatile_abdominal_mass": False, "rest_pain_or_tissue_loss": False},
    },
}

# Every screening question answered negatively ("no" / "none"): what all six buttons together set.
ALL_NEGATIVE: dict[str, Any] = {
    field: negative for group in SCREENING_GROUPS.values() for field, negative in group["fields"].items()
}


def group_negative(group: str, prefix: str) -> dict[str, Any]:
    """The widget values "Asked: all negative" sets for one screening group: each question's negative
    answer ("no" / "none"), every other field left as it is."""
    return {f"{prefix}{field}": negative for field, negative in SCREENING_GROUPS[group]["fields"].items()}


# Short neutral labels written by us: the instruments' own wording is not shipped (clinical-reference §7.10).
ODI_SECTIONS: tuple[str, ...] = INSTRUMENTS["odi"].labels
STARTBACK_LABELS: tuple[str, ...] = INSTRUMENTS["startback"].labels
RMDQ_LABELS: tuple[str, ...] = INSTRUMENTS["rmdq"].labels
ZCQ_LABELS: tuple[str, ...] = INSTRUMENTS["zcq"].labels

# Every field's label as the visit form shows it: the page draws its widgets with these and names a
# field in an error message by its label, never by its internal name (issue 19).
FORM_LABELS: dict[str, str] = {
    "visit_date": "Visit date",
    "pain_nrs": "Current pain, NPRS (0–10)",
    "pain_worst_nrs": "Worst pain in 24 h (0–10)",
    "walk_protocol": "Walking test protocol",
    "walk_onset_min": "Time to first symptom (min)",
    "walk_onset_m": "Distance to first symptom (m)",
    "walk_total_min": "Total time (min)",
    "walk_total_m": "Total distance (m)",
    "walk_stop_reason": "Why the test stopped",
    "leg_weakness_mrc": "Weakest key muscle, MRC (0–5)",
    "temperature_c": "Temperature (°C)",
    "odi_sections": "Oswestry Disability Index",
    "startback": "STarT Back",
    "rmdq_items": "Roland-Morris",
    "zcq_items": "Zurich Claudication Questionnaire",
    "psfs": "Patient-Specific Functional Scale",
    "posture_findings": "Posture findings",
    "footwear_findings": "Footwear findings",
    "notes": "Notes",
    "confirm_carried": "Confirm carried-forward items",
    "confirm_reported": "Patient-reported values",
    "reason": "Reason for the correction",
    **FIELD_LABELS,
}
# The patient form's labels, for the same messages on the Patients page.
PATIENT_LABELS: dict[str, str] = {
    "patient_ref": "Clinic reference (MRN)",
    "given_name": "Given name",
    "family_name": "Family name",
    "birth_date": "Date of birth",
    "sex": "Sex",
    "symptom_onset": "Symptom onset (this episode)",
    "next_review_date": "Next review (optional)",
    "reason": "Reason for the change",
}
_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_PSFS_ITEM = re.compile(r"^(\d+)\.score: ")


def field_label(field: str, labels: Mapping[str, str] = FORM_LABELS) -> str:
    """The form's label for a field (a readable fallback for a field the form does not show)."""
    return labels.get(field, field.replace("_", " ").capitalize())


def error_message(field: str, message: str, labels: Mapping[str, str] = FORM_LABELS) -> str:
    """A field's error as one sentence naming it, and any other field it mentions, by the form's labels."""
    protocols = {p.id: p.form_label for p in WALK_PROTOCOLS.values()}
    message = _NAME.sub(lambda m: labels.get(m.group(), protocols.get(m.group(), m.group())), message)
    message = re.sub(
        r"^the (\S+) protocol stops at (\S+) min$",
        lambda m: f"must be at most {m[2]} min (the {protocols.get(m[1], m[1])} stops there)",
        message,
    )
    message = _PSFS_ITEM.sub(lambda m: f"activity {int(m[1]) + 1}: score ", message)
    if field == "_":
        return message
    # "must ..." and "can ..." read on from the label; any other message is a sentence of its own.
    joiner = " " if message.startswith(("must ", "can ")) else ": "
    return f"{field_label(field, labels)}{joiner}{message}"


# Copy-forward into a follow-up (data dictionary): only these, never measurements or screening answers.
COPY_FORWARD: tuple[str, ...] = (
    "psfs_activities",
    "walk_protocol",
    "posture_findings",
    "footwear_findings",
    *WALKING_SYMPTOM_FIELDS,
)
SCALAR_FIELDS: tuple[str, ...] = (
    "pain_nrs",
    "pain_worst_nrs",
    *WALK_TEST_FIELDS,
    "leg_pain_on_walking",
    "relief",
    "symptom_location",
    "shopping_cart_sign",
    "triggered_by_standing_alone",
    "pedal_pulses",
    "leg_weakness_mrc",
    "temperature_c",
    *(field for group in SCREENING_GROUPS.values() for field in group["fields"]),
)


def carried_forward_items(visit: Visit | None) -> list[str]:
    """What a follow-up form carries forward from `visit`, in words; empty when nothing is carried."""
    if visit is None:
        return []
    items = [
        ("PSFS activities", any(item.activity for item in visit.psfs or [])),
        ("walking protocol", visit.walk_protocol is not None),
        ("walking symptoms", walking_symptoms_assessed(visit)),
        ("posture findings", bool(visit.posture_findings)),
        ("footwear findings", bool(visit.footwear_findings)),
    ]
    return [words for words, carried in items if carried]


def form_state_from_visit(visit: Visit | None, prefix: str, *, copy_forward_only: bool) -> dict[str, Any]:
    """Initial widget values: empty, a copy-forward from the previous visit, or a visit being corrected."""
    state: dict[str, Any] = {f"{prefix}{name}": None for name in SCALAR_FIELDS}
    state.update(
        {
            f"{prefix}visit_date": dt.date.today(),
            f"{prefix}pedal_pulses": "not_assessed",
            f"{prefix}posture_findings": [],
            f"{prefix}footwear_findings": [],
            f"{prefix}notes": "",
            f"{prefix}rmdq_done": False,
            **{f"{prefix}odi_{i}": None for i in range(10)},
            **{f"{prefix}sb_q{i}": None for i in range(1, 10)},
            **{f"{prefix}rmdq_{i}": False for i in range(24)},
            **{f"{prefix}zcq_q{i}": None for i in range(1, 19)},
            **{f"{prefix}psfs_activity_{i}": "" for i in range(5)},
            **{f"{prefix}psfs_score_{i}": None for i in range(5)},
        }
    )
    if visit is None:
        return state
    state[f"{prefix}walk_protocol"] = visit.walk_protocol
    for name in WALKING_SYMPTOM_FIELDS:
        state[f"{prefix}{name}"] = getattr(visit, name)
    state[f"{prefix}posture_findings"] = sorted(visit.posture_findings)
    state[f"{prefix}footwear_findings"] = sorted(visit.footwear_findings)
    for i, item in enumerate(visit.psfs or []):
        state[f"{prefix}psfs_activity_{i}"] = item.activity
    if copy_forward_only:
        return state
    state[f"{prefix}visit_date"] = visit.visit_date
    for name in SCALAR_FIELDS:
        state[f"{prefix}{name}"] = getattr(visit, name)
    state[f"{prefix}notes"] = visit.notes
    state.update(questionnaire_state({name: getattr(visit, name) for name in QUESTIONNAIRE_FIELDS}, prefix))
    for i, item in enumerate(visit.psfs or []):
        state[f"{prefix}psfs_score_{i}"] = item.score
    return state


# The questionnaires' Visit fields, whose widgets hold one item each (see questionnaire_state).
QUESTIONNAIRE_FIELDS: tuple[str, ...] = ("odi_sections", "startback", "rmdq_items", "zcq_items")


def questionnaire_state(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The questionnaire widgets' values (one per item) from the Visit fields' values present in `values`."""
    state: dict[str, Any] = {}
    for i, value in enumerate(values.get("odi_sections") or []):
        state[f"{prefix}odi_{i}"] = value
    for key, answer in (values.get("startback") or {}).items():
        state[f"{prefix}sb_{key}"] = answer
    if values.get("rmdq_items") is not None:
        state[f"{prefix}rmdq_done"] = True
        for i, value in enumerate(values["rmdq_items"]):
            state[f"{prefix}rmdq_{i}"] = value
    for key, value in (values.get("zcq_items") or {}).items():
        state[f"{prefix}zcq_{key}"] = value
    return state


def reported_values(report: PatientReport, state: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The widget values a check-in pre-fills on a new form: its measurements only (pain, the reported
    walk, PSFS ratings, licensed questionnaires the patient filled in), never a screening answer
    (§12.1). A rated activity goes on the form's row of the same name, else on the first empty row."""
    measured = report.measurements()
    per_item = ("psfs", *QUESTIONNAIRE_FIELDS)
    values = {f"{prefix}{name}": value for name, value in measured.items() if name not in per_item}
    values.update(questionnaire_state(measured, prefix))
    rows = [(state.get(f"{prefix}psfs_activity_{i}") or "").strip() for i in range(5)]
    rated: list[dict[str, Any]] = measured.get("psfs") or []  # type: ignore[assignment]
    for item in rated:
        activity = str(item["activity"])
        row = rows.index(activity) if activity in rows else rows.index("") if "" in rows else None
        if row is None:
            continue  # five rows are all the form has; the report keeps the rest
        rows[row] = activity
        values[f"{prefix}psfs_activity_{row}"] = activity
        values[f"{prefix}psfs_score_{row}"] = item["score"]
    return values


def form_key(patient: Patient, correcting: Visit | None) -> str:
    """Which form the widgets hold: one per patient and visit being corrected ("new" for a new visit)."""
    return f"{patient.id}:{correcting.id if correcting else 'new'}"


def new_form_state(
    patient: Patient, correcting: Visit | None, previous: Visit | None, report: PatientReport | None = None
) -> dict[str, Any]:
    """Every session value a freshly opened form starts from: its widgets (empty, copied forward from
    `previous`, or the visit being corrected; a new visit also pre-filled from the patient's `report`)
    and what the form remembers about itself."""
    state = form_state_from_visit(correcting or previous, Keys.PREFIX, copy_forward_only=correcting is None)
    # Only a form that carried something forward asks for it to be confirmed (issue 19).
    carried = carried_forward_items(previous) if correcting is None else []
    report = None if correcting else report  # a correction keeps what its clinician recorded
    if report is not None:
        state.update(reported_values(report, state, Keys.PREFIX))
        if "walk_protocol" in report.measurements():  # the patient's walk replaced the carried protocol
            carried = [item for item in carried if item != "walking protocol"]
    state.update(
        {
            Keys.FORM_ID: form_key(patient, correcting),
            Keys.NEXT_REVIEW_DATE: patient.next_review_date,
            Keys.CONFIRM_CARRIED: False,  # a new form is never confirmed in advance
            Keys.REPORT: report,
            Keys.CONFIRM_REPORTED: False,
            Keys.CARRIED_ITEMS: carried,
            Keys.CARRIED_FROM: previous.visit_date.isoformat() if previous and carried else None,
            # The version a correction is based on: a newer save by someone else must be detected.
            Keys.BASE_VERSION: correcting.version if correcting else None,
        }
    )
    return state


# The form's values kept outside the widgets (see open_form).
KEPT_KEYS: tuple[str, ...] = (
    *form_state_from_visit(None, Keys.PREFIX, copy_forward_only=True),
    Keys.CONFIRM_CARRIED,
    Keys.CONFIRM_REPORTED,
    Keys.REASON,
    Keys.NEXT_REVIEW_DATE,
)


def open_form(
    state: MutableMapping[Any, Any],
    patient: Patient,
    correcting: Visit | None,
    previous: Visit | None,
    report: PatientReport | None = None,
) -> None:
    """Get the session's form ready for this run: started afresh (pre-filled from the patient's
    `report` when there is one) when the patient or the visit being corrected changed, and with every
    value Streamlit dropped put back.

    Streamlit drops the state of every widget a run does not draw, so a trip to another page would reset
    the form to widget defaults (no protocol, pain 0) while it still looks filled in; a plain copy of
    its values (not a widget's) survives the trip.
    """
    if state.get(Keys.FORM_ID) != form_key(patient, correcting):
        for key in [k for k in state if str(k).startswith(Keys.PREFIX)]:
            del state[key]
        state.update(new_form_state(patient, correcting, previous, report))
    for key, value in state.get(Keys.KEPT, {}).items():
        if key not in state:
            state[key] = value
    keep(state)


def keep(state: MutableMapping[Any, Any]) -> None:
    """Refresh the plain copy of the form's values that open_form puts back (see there).

    A full run of the page refreshes it in open_form; a section's own rerun (an st.fragment, which
    skips the top of the page) must refresh it too, or a trip to another page after edits made only
    in section reruns would bring back the values from before those edits.
    """
    state[Keys.KEPT] = {key: state[key] for key in KEPT_KEYS if key in state}


def set_aside(state: MutableMapping[Any, Any]) -> None:
    """Move the form's current values into the kept copy, for a run that stops before any page draws
    (the database cannot be reached), so that the next run's open_form puts them back.

    Merged, not replaced: a form left for another page is kept in the copy alone. The widgets' own
    values are removed: after a run that did not draw them Streamlit still reports their keys as set,
    yet draws the widgets afresh, empty, so open_form would find them "present" and leave them out.
    """
    present = {key: state[key] for key in KEPT_KEYS if key in state}
    state[Keys.KEPT] = {**state.get(Keys.KEPT, {}), **present}
    for key in present:
        del state[key]


def values_from_form_state(state: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Visit field values from the widget values (blank questionnaires become None: not recorded)."""
    get = lambda name, default=None: state.get(f"{prefix}{name}", default)  # noqa: E731
    values: dict[str, Any] = {name: get(name) for name in SCALAR_FIELDS}
    values["pedal_pulses"] = get("pedal_pulses") or "not_assessed"
    values["visit_date"] = get("visit_date")
    values["notes"] = get("notes", "") or ""
    values["posture_findings"] = set(get("posture_findings", []) or [])
    values["footwear_findings"] = set(get("footwear_findings", []) or [])
    odi = [get(f"odi_{i}") for i in range(10)]
    values["odi_sections"] = odi if any(v is not None for v in odi) else None
    startback = {f"q{i}": get(f"sb_q{i}") for i in range(1, 10)}
    values["startback"] = {k: v for k, v in startback.items() if v is not None} or None
    values["rmdq_items"] = [bool(get(f"rmdq_{i}")) for i in range(24)] if get("rmdq_done") else None
    zcq = {f"q{i}": get(f"zcq_q{i}") for i in range(1, 19)}
    values["zcq_items"] = {k: int(v) for k, v in zcq.items() if v is not None} or None
    psfs = []
    for i in range(5):
        activity = (get(f"psfs_activity_{i}", "") or "").strip()
        score = get(f"psfs_score_{i}")
        if activity:
            psfs.append({"activity": activity, "score": score})
    values["psfs"] = psfs or None
    for name in ("pain_nrs", "pain_worst_nrs", "leg_weakness_mrc"):
        if values[name] is not None:
            values[name] = int(values[name])
    return values


def live_ces_answers(state: Mapping[str, Any], prefix: str) -> list[str]:
    """The CES core questions the unsaved form answers 'new' or 'worsening' (RF_CES fires on any one)."""
    return [field for field in CES_FEATURES if state.get(prefix + field) in ACTIVE_CHANGE]


def walking_metric_hint(state: Mapping[str, Any], prefix: str) -> str | None:
    """What the unsaved walking test will be compared on, when that is less than its main measure (§7.8).

    None when the protocol's main measure (e.g. the SPWT's total distance) is recorded or no protocol
    is chosen; otherwise a sentence naming the missing field and what is lost without it.
    """
    protocol_id = state.get(prefix + "walk_protocol")
    if protocol_id not in WALK_PROTOCOLS:
        return None
    metrics = WALK_PROTOCOLS[protocol_id].metrics
    recorded = next((m for m in metrics if state.get(prefix + m.field) is not None), None)
    if recorded is metrics[0]:
        return None
    missing = field_label(metrics[0].field)
    if recorded is None:
        return f"{missing} not recorded: this walking test will not be charted or compared."
    lost = "" if recorded.has_mcid else ", and its change is shown without a clinical judgement"
    return (
        f"{missing} not recorded: this test is compared only with tests recorded the same way "
        f"({recorded.label}){lost}. Record the distance if it was measured."
    )


def walking_time_warnings(state: Mapping[str, Any], prefix: str) -> list[str]:
    """Unsaved walking times (minutes) over the chosen protocol's cap (§7.8), as the clinician types them.

    A browser's number field drops a typed colon, so "4:30" arrives as 430 minutes: the form says so at
    once, beside the walking fields, instead of only when Save refuses it."""
    cap = WALK_CAP_MIN.get(state.get(prefix + "walk_protocol") or "")
    if cap is None:
        return []
    warnings = []
    for name in ("walk_onset_min", "walk_total_min"):
        minutes = state.get(prefix + name)
        if isinstance(minutes, int | float) and minutes > cap:
            warnings.append(
                f"{field_label(name)}: {minutes:g} is more than this protocol's {cap:g} minutes. "
                "Times are in minutes with a decimal point (4 min 30 s is 4.5); "
                "a typed colon is dropped by the browser."
            )
    return warnings
