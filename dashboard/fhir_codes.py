"""Every code system URI, code and display used by the FHIR R4 export, reviewed in one place.

Standard codes carry their source and evidence tag (clinical-reference §9); local codes live in the
Stride CodeSystem (`Settings.fhir_codesystem_url`) and their displays are written in our own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboard.catalogue import INSTRUMENTS, TIERS, WALK_FIELDS, WALK_PROTOCOLS, WalkProtocol

# --- Code system URIs (FHIR R4 canonical identifiers, clinical-reference §9 [C]) ---------------

LOINC = "http://loinc.org"
SNOMED_CT = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"


@dataclass(frozen=True)
class Code:
    """A code in a published code system, with its official display text."""

    system: str
    code: str
    display: str

    def coding(self) -> dict[str, Any]:
        """This code as a FHIR Coding."""
        return {"system": self.system, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class LocalCode:
    """A code in the Stride CodeSystem; its system URL is set per deployment."""

    code: str
    display: str

    def coding(self, system: str) -> dict[str, Any]:
        """This code as a FHIR Coding in the given Stride CodeSystem."""
        return {"system": system, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class Unit:
    """A UCUM unit: the code and the human-readable unit shown beside values."""

    code: str
    unit: str

    def quantity(self, value: float) -> dict[str, Any]:
        """A FHIR Quantity of this unit."""
        return {"value": value, "unit": self.unit, "system": UCUM, "code": self.code}


# --- LOINC (clinical-reference §9.2) -----------------------------------------------------------

# pain_nrs [C]. Display: LOINC long common name.
LOINC_NPRS = Code(LOINC, "72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
# ODI panel / questionnaire [S: HL7 PACIO sample IG; display as in published HL7 IGs; verify against LOINC].
LOINC_ODI_PANEL = Code(LOINC, "97908-8", "Oswestry Disability Index")
# ODI score [S: as above].
LOINC_ODI_SCORE = Code(LOINC, "97909-6", "Oswestry disability index score ODI")
# The 6MWT distance, LOINC 64098-7, is the 6MWT's catalogue entry (WALK_PROTOCOL_CODES below).
# temperature_c [S].
LOINC_BODY_TEMPERATURE = Code(LOINC, "8310-5", "Body temperature")

# --- SNOMED CT ---------------------------------------------------------------------------------

# Diagnosis for the Condition [C]. Preferred term; FSN "Low back pain (finding)".
SNOMED_LOW_BACK_PAIN = Code(SNOMED_CT, "279039007", "Low back pain")

# --- HL7 terminology ---------------------------------------------------------------------------

CATEGORY_SURVEY = Code(OBSERVATION_CATEGORY, "survey", "Survey")
CATEGORY_EXAM = Code(OBSERVATION_CATEGORY, "exam", "Exam")
CATEGORY_VITAL_SIGNS = Code(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")
CATEGORY_ACTIVITY = Code(OBSERVATION_CATEGORY, "activity", "Activity")
ENCOUNTER_AMBULATORY = Code(V3_ACT_CODE, "AMB", "ambulatory")  # [U] class for a physio visit
NOT_ASKED = Code(DATA_ABSENT_REASON, "not-asked", "Not Asked")
NOT_APPLICABLE = Code(DATA_ABSENT_REASON, "not-applicable", "Not Applicable")
CONDITION_ACTIVE = Code(CONDITION_CLINICAL, "active", "Active")

# STarT Back risk group -> risk-probability qualitativeRisk (clinical-reference §9.1 [C]).
STARTBACK_RISK_PROBABILITY: dict[str, Code] = {
    "low": Code(RISK_PROBABILITY, "low", "Low likelihood"),
    "medium": Code(RISK_PROBABILITY, "moderate", "Moderate likelihood"),
    "high": Code(RISK_PROBABILITY, "high", "High likelihood"),
}

# --- UCUM units (clinical-reference §9.3) ------------------------------------------------------

UNIT_MINUTES = Unit("min", "min")
UNIT_METRES = Unit("m", "m")
UNIT_PERCENT = Unit("%", "%")
UNIT_CELSIUS = Unit("Cel", "°C")
UNIT_SCORE = Unit("{score}", "{score}")  # annotation unit for questionnaire means

# --- Local Stride CodeSystem: scores [U: no LOINC confirmed, clinical-reference §1.3 item 5] ------

PAIN_WORST_24H = LocalCode("pain-worst-24h", "Worst pain in the last 24 hours, 0-10 numeric rating")
RMDQ_TOTAL = LocalCode("rmdq-total", "Roland-Morris Disability Questionnaire total score (0-24)")
STARTBACK_TOTAL = LocalCode("startback-total", "Keele STarT Back total score (0-9)")
STARTBACK_PSYCHOSOCIAL = LocalCode("startback-psychosocial", "Keele STarT Back psychosocial subscore (0-5)")
STARTBACK_RISK = LocalCode("startback-risk", "Keele STarT Back risk group")
PSFS_MEAN = LocalCode("psfs-mean", "Patient-Specific Functional Scale mean rating (0-10)")
ZCQ_SYMPTOM_SEVERITY = LocalCode("zcq-ss", "Zurich Claudication Questionnaire symptom severity mean (1-5)")
ZCQ_PHYSICAL_FUNCTION = LocalCode("zcq-pf", "Zurich Claudication Questionnaire physical function mean (1-4)")
ZCQ_SATISFACTION = LocalCode("zcq-sat", "Zurich Claudication Questionnaire satisfaction mean (1-4)")
LEG_WEAKNESS_MRC = LocalCode("leg-weakness-mrc", "Weakest key lower-limb muscle, MRC grade (0-5)")

# --- Local: walking tests (clinical-reference §7.8) --------------------------------------------


def _walk_code(entry: WalkProtocol) -> Code | LocalCode:
    if entry.fhir_system == "loinc":
        return Code(LOINC, entry.fhir_code, entry.fhir_display)
    return LocalCode(entry.fhir_code, entry.fhir_display)


# Observation.code and the protocol component's value for each walk_protocol (from the catalogue).
WALK_PROTOCOL_CODES: dict[str, Code | LocalCode] = {p.id: _walk_code(p) for p in WALK_PROTOCOLS.values()}

WALK_PROTOCOL = LocalCode("walk-protocol", "Walking test protocol")
WALK_STOP_REASON = LocalCode("walk-stop-reason", "Reason the walking test stopped")
# The UCUM unit of each catalogue unit of a walking field.
UCUM_UNITS: dict[str, Unit] = {"m": UNIT_METRES, "min": UNIT_MINUTES}
_WALK_FIELD_CODES: dict[str, LocalCode] = {
    "walk_onset_min": LocalCode("walk-onset-time", "Walking time to first symptom"),
    "walk_onset_m": LocalCode("walk-onset-distance", "Walking distance to first symptom"),
    "walk_total_min": LocalCode("walk-total-time", "Total walking time"),
    "walk_total_m": LocalCode("walk-total-distance", "Total walking distance"),
}
# Component code and UCUM unit of each numeric walking field, in the catalogue's order.
WALK_MEASUREMENTS: dict[str, tuple[LocalCode, Unit]] = {
    field.id: (_WALK_FIELD_CODES[field.id], UCUM_UNITS[field.unit]) for field in WALK_FIELDS.values()
}
WALK_STOP_REASONS: dict[str, LocalCode] = {
    "symptoms": LocalCode("walk-stop-symptoms", "Stopped because of symptoms"),
    "fatigue": LocalCode("walk-stop-fatigue", "Stopped because of fatigue"),
    "time_cap": LocalCode("walk-stop-time-cap", "Reached the protocol's time limit"),
    "other": LocalCode("walk-stop-other", "Stopped for an unrelated reason"),
}

# --- Local: red-flag screening findings, one code per SCREENING_FIELDS entry [U] ----------------

SCREENING_CODES: dict[str, LocalCode] = {
    "saddle_anaesthesia": LocalCode("redflag-saddle-anaesthesia", "Altered or reduced saddle-area sensation"),
    "bladder_dysfunction": LocalCode("redflag-bladder-dysfunction", "Bladder dysfunction"),
    "bowel_dysfunction": LocalCode("redflag-bowel-dysfunction", "Bowel dysfunction"),
    "sexual_dysfunction": LocalCode("redflag-sexual-dysfunction", "Sexual dysfunction"),
    "bilateral_radicular_pain": LocalCode(
        "redflag-bilateral-radicular-pain",
        "Radicular pain in both legs (including one-sided become two-sided)",
    ),
    "new_radicular_pain": LocalCode("redflag-new-radicular-pain", "New radicular pain"),
    "leg_weakness": LocalCode("redflag-leg-weakness", "Leg weakness"),
    "difficulty_walking_new": LocalCode(
        "redflag-difficulty-walking-new", "New difficulty walking (gait disturbance)"
    ),
    "fever": LocalCode("redflag-fever", "Fever"),
    "systemically_unwell": LocalCode("redflag-systemically-unwell", "Systemically unwell"),
    "recent_infection": LocalCode("redflag-recent-infection", "Recent bacterial infection"),
    "unexplained_weight_loss": LocalCode("redflag-unexplained-weight-loss", "Unexplained weight loss"),
    "night_pain": LocalCode("redflag-night-pain", "Unremitting night pain not eased by position"),
    "trauma": LocalCode("redflag-trauma", "Recent trauma"),
    "sudden_severe_pain": LocalCode("redflag-sudden-severe-pain", "Sudden severe central spinal pain"),
    "pulsatile_abdominal_mass": LocalCode("redflag-pulsatile-abdominal-mass", "Pulsatile abdominal mass"),
    "rest_pain_or_tissue_loss": LocalCode(
        "redflag-rest-pain-or-tissue-loss", "Ischaemic rest pain, ulceration or gangrene"
    ),
}

# Coded answers of the enumerated screening fields (Change4, LegWeakness, Trauma in dashboard.models).
FINDING_STATUS_CODES: dict[str, LocalCode] = {
    "none": LocalCode("finding-none", "Absent"),
    "new": LocalCode("finding-new", "New"),
    "worsening": LocalCode("finding-worsening", "Worsening"),
    "chronic_stable": LocalCode("finding-chronic-stable", "Long-standing and unchanged"),
    "stable": LocalCode("finding-stable", "Stable"),
    "progressive": LocalCode("finding-progressive", "Progressive"),
}
TRAUMA_CODES: dict[str, LocalCode] = {
    "none": LocalCode("trauma-none", "No trauma"),
    "minor": LocalCode("trauma-minor", "Minor trauma"),
    "major": LocalCode("trauma-major", "Major trauma"),
}

# --- Local: red-flag rules (Flag.code) and screening results (clinical-reference §3.3) ----------

RULE_CODES: dict[str, LocalCode] = {
    rule_id: LocalCode(rule_id, display)
    for rule_id, display in (
        ("RF_CES", "Suspected cauda equina syndrome"),
        ("RF_CES_POSSIBLE", "Possible cauda equina syndrome: sexual dysfunction without other CES features"),
        ("RF_PROGRESSIVE_NEURO", "Severe or progressive neurological deficit"),
        ("RF_NEW_NEURO_DEFICIT", "New neurological deficit"),
        ("RF_SEVERE_MOTOR_STABLE", "Stable major motor loss"),
        ("RF_MSCC", "Suspected metastatic spinal cord compression"),
        ("RF_MALIGNANCY_CANCER_HX", "History of cancer with spinal pain"),
        ("RF_MALIGNANCY_SUSPECTED", "Features that raise suspicion of malignancy"),
        ("RF_INFECTION", "Suspected spinal infection"),
        ("RF_SYSTEMIC_FEATURES", "Systemic features without an infection risk factor"),
        ("RF_INFECTION_RISK", "Infection risk factor without fever"),
        ("RF_FRACTURE", "Suspected fragility fracture"),
        ("RF_FRACTURE_MAJOR_TRAUMA", "Major trauma: possible fracture"),
        ("RF_AAA", "Suspected abdominal aortic aneurysm"),
        ("RF_VASCULAR_CLAUDICATION", "Vascular or indeterminate claudication pattern"),
        ("RF_CRITICAL_LIMB_ISCHAEMIA", "Possible critical limb ischaemia"),
        ("RF_PERSISTENT_NO_IMPROVEMENT", "No meaningful improvement after more than 6 weeks of care"),
        ("RF_WALKING_DECLINE", "Walking tolerance fell by more than half"),
        ("RF_DIARY_NOT_SETTLING", "Walking diary: two red entries in a row"),
    )
}

REDFLAG_SCREENING = LocalCode(
    "redflag-screening", "Red-flag screening result (decision support, not a diagnosis)"
)
# Overall urgency of a screening; "NONE" reads "no rule fired", never "safe" (clinical-reference §1.2).
URGENCY_CODES: dict[str, LocalCode] = {
    t.id: LocalCode(t.fhir_code, t.fhir_display) for t in sorted(TIERS.values(), key=lambda t: -t.rank)
}

# --- Local: questionnaire answers and canonicals (clinical-reference §7.10: no instrument text) ---

STARTBACK_ANSWER_CODES: dict[str, LocalCode] = {
    "agree": LocalCode("startback-agree", "Agree"),
    "disagree": LocalCode("startback-disagree", "Disagree"),
    "not_at_all": LocalCode("startback-bother-not-at-all", "Bothersomeness: not at all"),
    "slightly": LocalCode("startback-bother-slightly", "Bothersomeness: slightly"),
    "moderately": LocalCode("startback-bother-moderately", "Bothersomeness: moderately"),
    "very_much": LocalCode("startback-bother-very-much", "Bothersomeness: very much"),
    "extremely": LocalCode("startback-bother-extremely", "Bothersomeness: extremely"),
}

# Questionnaire canonical = "<base>/Questionnaire/<slug>"; linkIds are "<slug>-<item number>".
QUESTIONNAIRE_ODI = INSTRUMENTS["odi"].questionnaire_slug or "odi"
QUESTIONNAIRE_RMDQ = INSTRUMENTS["rmdq"].questionnaire_slug or "rmdq"
QUESTIONNAIRE_STARTBACK = INSTRUMENTS["startback"].questionnaire_slug or "startback"
QUESTIONNAIRE_ZCQ = INSTRUMENTS["zcq"].questionnaire_slug or "zcq"
QUESTIONNAIRE_PSFS = INSTRUMENTS["psfs"].questionnaire_slug or "psfs"
# --- Local: the patient's own voice (clinical-reference §12) -----------------------------------

# A check-in's QuestionnaireResponse: canonical "<base>/Questionnaire/patient-checkin", linkIds the
# Visit field names its answers map onto (§12.1).
QUESTIONNAIRE_CHECKIN = "patient-checkin"
# A walking-diary entry's Observation (§12.3): minutes as the walking tests' components, pain as these.
DIARY_ENTRY = LocalCode("walking-diary-entry", "Walking diary entry (patient-reported)")
DIARY_PAIN: dict[str, LocalCode] = {
    "pain_before_nrs": LocalCode("diary-pain-before", "Pain before the walk, 0-10 numeric rating"),
    "pain_during_nrs": LocalCode("diary-pain-during", "Pain during the walk, 0-10 numeric rating"),
    "pain_next_morning_nrs": LocalCode(
        "diary-pain-next-morning", "Pain the next morning, 0-10 numeric rating"
    ),
}

# Patient.identifier.system = "<base>/patient-ref" (the clinic's own identifier, patient_ref).
PATIENT_REF_PATH = "patient-ref"


def local_codes() -> list[LocalCode]:
    """Every code of the Stride CodeSystem, in a stable order."""
    codes: list[LocalCode] = [
        PAIN_WORST_24H,
        RMDQ_TOTAL,
        STARTBACK_TOTAL,
        STARTBACK_PSYCHOSOCIAL,
        STARTBACK_RISK,
        PSFS_MEAN,
        ZCQ_SYMPTOM_SEVERITY,
        ZCQ_PHYSICAL_FUNCTION,
        ZCQ_SATISFACTION,
        LEG_WEAKNESS_MRC,
        # The walking protocols' local codes (the 6MWT's is LOINC), then the walking components.
        *(code for code in WALK_PROTOCOL_CODES.values() if isinstance(code, LocalCode)),
        WALK_PROTOCOL,
        *(code for code, _ in WALK_MEASUREMENTS.values()),
        WALK_STOP_REASON,
        REDFLAG_SCREENING,
        DIARY_ENTRY,
    ]
    for table in (
        WALK_STOP_REASONS,
        SCREENING_CODES,
        FINDING_STATUS_CODES,
        TRAUMA_CODES,
        RULE_CODES,
        URGENCY_CODES,
        STARTBACK_ANSWER_CODES,
        DIARY_PAIN,
    ):
        codes.extend(table.values())
    return codes
