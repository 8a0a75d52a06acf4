"""Walking-test protocols, their tolerance metrics, stop reasons and the visit's walking fields
(clinical-reference §7.8, §7.9, §9.2), one entry each."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.catalogue.table import by_id, lookup


@dataclass(frozen=True)
class WalkMetric:
    """One tolerance metric of a protocol: a series of its own, never mixed with another (§7.8)."""

    change_measure: str  # judge_change measure, also the series key (e.g. "walk_spwt_min")
    field: str  # the total field: walk_total_m or walk_total_min
    onset_field: str  # time or distance to first symptom, same unit, charted as a secondary series
    unit: str  # "m" or "min"
    label: str  # the measure's label
    has_mcid: bool  # False: the change is shown without a judgement (label "no_mcid")
    source: str


@dataclass(frozen=True, kw_only=True)
class WalkProtocol:
    """One `walk_protocol`: names, cap, tolerance metrics, FHIR code, chart style, source."""

    id: str
    name: str  # long name, for the timeline and chart titles
    short_name: str  # narrow table columns
    form_label: str  # the visit form's choice
    cap_min: float | None  # longest the protocol runs (None: no cap)
    # Tolerance metrics, preferred first: a visit's primary metric is the first one it recorded
    # (§7.8 [U]: the SPWT's distance when measured, otherwise its time); trends, outcomes and
    # RF_WALKING_DECLINE compare only records of the same metric.
    metrics: tuple[WalkMetric, ...]
    fhir_code: str
    fhir_display: str
    fhir_system: str = "local"  # "loinc" or "local" (the Stride CodeSystem)
    # The walking field a FHIR Observation of this protocol carries as its own value, when its code
    # means that measurement itself (LOINC 64098-7 is the 6MWT distance); None: components only.
    fhir_value_field: str | None = None
    # What the walking programme's first bout reads from this protocol (§8.2 [U]): "onset", a timed
    # test's time to first symptom; "estimate", the patient's own minutes, used when no timed test
    # exists; None: not read (the 6MWT measures distance).
    programme_reads: str | None = None
    chart_colour: str  # Okabe-Ito colour name; each protocol also has its own marker shape
    chart_marker: str
    source: str

    @property
    def primary(self) -> WalkMetric:
        """The preferred metric (the one a fully recorded test is compared on)."""
        return self.metrics[0]


_WALKING_REFERENCE = "clinical-reference §7.8"
# The visit fields a metric of each unit is recorded in: (total, time or distance to first symptom).
_UNIT_FIELDS: dict[str, tuple[str, str]] = {
    "m": ("walk_total_m", "walk_onset_m"),
    "min": ("walk_total_min", "walk_onset_min"),
}


def _metric(change_measure: str, unit: str, label: str, *, has_mcid: bool, source: str) -> WalkMetric:
    """A tolerance metric recorded in `unit` ("m" or "min"), in that unit's total and onset fields."""
    total, onset = _UNIT_FIELDS[unit]
    return WalkMetric(change_measure, total, onset, unit, label, has_mcid, source)


WALK_PROTOCOLS: dict[str, WalkProtocol] = by_id(
    WalkProtocol(
        id="spwt",
        name="Self-paced walking test (SPWT)",
        short_name="SPWT",
        form_label="Self-paced walking test (SPWT, ≤ 30 min)",
        cap_min=30.0,
        programme_reads="onset",
        metrics=(
            _metric(
                "walk_spwt_m",
                "m",
                "SPWT total distance",
                has_mcid=True,
                source="MCID 30% of distance, Ammendolia 2018 [C]",
            ),
            _metric(
                "walk_spwt_min",
                "min",
                "SPWT total time",
                has_mcid=False,
                source="§7.8 [U]: a timed, unmeasured test; no confirmed MCID for its time",
            ),
        ),
        fhir_code="walk-spwt",
        fhir_display="Self-paced walking test (level ground, up to 30 min)",
        chart_colour="blue",
        chart_marker="circle",
        source="Tomkins 2009 (reliability) [C]; MCID 30% of distance, Ammendolia 2018 [C]",
    ),
    WalkProtocol(
        id="treadmill_1_2mph",
        name="Treadmill, 1.2 mph",
        short_name="Treadmill 1.2 mph",
        form_label="Treadmill 1.2 mph, level (≤ 15 min)",
        cap_min=15.0,
        programme_reads="onset",
        metrics=(
            _metric(
                "walk_treadmill_min",
                "min",
                "Treadmill total time",
                has_mcid=False,
                source="Deen 1995 [C]; no confirmed MCID",
            ),
        ),
        fhir_code="walk-treadmill-1-2mph",
        fhir_display="Treadmill walking test, level, 1.2 mph (up to 15 min)",
        chart_colour="orange",
        chart_marker="square",
        source="Deen 1995 [C]; no confirmed MCID",
    ),
    WalkProtocol(
        id="6mwt",
        name="6-minute walk test (6MWT)",
        short_name="6MWT",
        form_label="6-minute walk test",
        cap_min=6.0,
        metrics=(
            _metric(
                "walk_6mwt_m",
                "m",
                "6MWT distance",
                has_mcid=True,
                source="MCID 26-35 m after LSS surgery, McIlroy 2025 [C]",
            ),
        ),
        # LOINC 64098-7 [C for the code; display U: published IGs differ, verify against LOINC]. Never
        # 55430-3 (pedometer distance) for the 6MWT.
        fhir_system="loinc",
        fhir_code="64098-7",
        fhir_value_field="walk_total_m",
        fhir_display="Six minute walk distance",
        chart_colour="bluish_green",
        chart_marker="diamond",
        source="ATS 2002 [U]; MCID 26-35 m after LSS surgery, McIlroy 2025 [C]; LOINC 64098-7 [C]",
    ),
    WalkProtocol(
        id="reported",
        name="Reported walking time",
        short_name="Reported",
        form_label="Patient's own estimate",
        cap_min=None,
        programme_reads="estimate",
        metrics=(
            _metric(
                "walk_reported_min",
                "min",
                "Reported walking time",
                has_mcid=False,
                source="Conway, Tomkins & Haig [C]; no confirmed MCID",
            ),
        ),
        fhir_code="walk-reported",
        fhir_display="Patient-reported walking tolerance",
        chart_colour="reddish_purple",
        chart_marker="triangle-up",
        source="Conway, Tomkins & Haig [C]; no confirmed MCID",
    ),
)

WALK_METRICS: dict[str, WalkMetric] = {
    metric.change_measure: metric for entry in WALK_PROTOCOLS.values() for metric in entry.metrics
}
# The protocol each metric belongs to.
METRIC_PROTOCOL: dict[str, str] = {
    metric.change_measure: entry.id for entry in WALK_PROTOCOLS.values() for metric in entry.metrics
}


@dataclass(frozen=True)
class StopReason:
    """One `walk_stop_reason`: its form label and whether the test counts for comparisons."""

    id: str
    form_label: str
    counts_for_comparison: bool
    source: str = _WALKING_REFERENCE


STOP_REASONS: dict[str, StopReason] = by_id(
    StopReason("symptoms", "symptoms", True),
    StopReason("fatigue", "fatigue", True),
    StopReason("time_cap", "reached the time cap", True),
    # A test stopped for an unrelated reason never counts (§3.3 RF_WALKING_DECLINE, §11.2).
    StopReason("other", "other (unrelated)", False, "clinical-reference §3.3"),
)


@dataclass(frozen=True)
class WalkField:
    """One numeric walking field of a visit: its unit and what it measures."""

    id: str  # the Visit field
    unit: str  # "m" or "min"
    words: str  # what it measures, for axis titles and table labels
    source: str = "shared/data-dictionary.md; " + _WALKING_REFERENCE


# In the order the FHIR walking Observation lists its components.
WALK_FIELDS: dict[str, WalkField] = by_id(
    WalkField("walk_onset_min", "min", "time to first symptom"),
    WalkField("walk_onset_m", "m", "distance to first symptom"),
    WalkField("walk_total_min", "min", "total time"),
    WalkField("walk_total_m", "m", "total distance"),
)


def protocol(protocol_id: str) -> WalkProtocol:
    """The catalogue entry of a walking protocol; ValueError naming the field when unknown."""
    return lookup(WALK_PROTOCOLS, protocol_id, "walk_protocol")
