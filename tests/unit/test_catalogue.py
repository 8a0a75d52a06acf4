"""The catalogue (dashboard/catalogue/): one declared entry per protocol, tier and instrument.

Each catalogue has one parametrized test checking its entries against the clinical reference and
the modules that read them, plus a guard that every entry of the catalogue is covered by a case.
"""

from __future__ import annotations

from typing import get_args

import pytest

from dashboard import (
    catalogue,
    charts,
    fhir_codes,
    licences,
    models,
    page_text,
    presenters,
    trends,
    visit_form,
    walking,
)
from dashboard.catalogue import (
    INSTRUMENTS,
    METRIC_PROTOCOL,
    STOP_REASONS,
    TIERS,
    WALK_FIELDS,
    WALK_METRICS,
    WALK_PROTOCOLS,
)
from dashboard.catalogue.table import by_id, lookup
from dashboard.outcomes import MEASURES, thresholds_for
from dashboard.red_flags import Urgency

# --- walking protocols (clinical-reference §7.8, §7.9, §9.2) -----------------------------------

# id -> (cap in min, preferred change measure, FHIR code)
PROTOCOL_CASES: dict[str, tuple[float | None, str, str]] = {
    "spwt": (30.0, "walk_spwt_m", "walk-spwt"),
    "treadmill_1_2mph": (15.0, "walk_treadmill_min", "walk-treadmill-1-2mph"),
    "6mwt": (6.0, "walk_6mwt_m", "64098-7"),
    "reported": (None, "walk_reported_min", "walk-reported"),
}
# change measure -> (protocol, total field, unit, has an MCID): revised §7.8, the SPWT timed only
# is a series of its own, without a judgement.
METRIC_CASES: dict[str, tuple[str, str, str, bool]] = {
    "walk_spwt_m": ("spwt", "walk_total_m", "m", True),
    "walk_spwt_min": ("spwt", "walk_total_min", "min", False),
    "walk_treadmill_min": ("treadmill_1_2mph", "walk_total_min", "min", False),
    "walk_6mwt_m": ("6mwt", "walk_total_m", "m", True),
    "walk_reported_min": ("reported", "walk_total_min", "min", False),
}


def test_every_walking_protocol_and_metric_of_the_catalogue_has_a_case_and_is_a_visit_value() -> None:
    assert set(PROTOCOL_CASES) == set(WALK_PROTOCOLS) == set(get_args(models.WalkProtocol))
    assert set(METRIC_CASES) == set(WALK_METRICS)
    assert set(STOP_REASONS) == set(get_args(models.WalkStopReason))


@pytest.mark.parametrize("protocol_id", list(PROTOCOL_CASES))
def test_a_walking_protocol_is_read_from_its_catalogue_entry_everywhere(protocol_id: str) -> None:
    cap, measure, code = PROTOCOL_CASES[protocol_id]
    entry = WALK_PROTOCOLS[protocol_id]
    assert (entry.cap_min, entry.primary.change_measure) == (cap, measure)
    assert models.WALK_CAP_MIN.get(protocol_id) == cap
    assert walking.PRIMARY_METRIC[protocol_id] == entry.primary.field
    assert walking.change_measure(protocol_id) == measure
    assert fhir_codes.WALK_PROTOCOL_CODES[protocol_id].code == code
    assert charts.PROTOCOL_STYLE[protocol_id] == (charts.OKABE_ITO[entry.chart_colour], entry.chart_marker)
    assert visit_form.CHOICES["walk_protocol"][protocol_id] == entry.form_label
    assert page_text.PROTOCOL_SHORT[protocol_id] == entry.short_name
    assert entry.source


@pytest.mark.parametrize("measure", list(METRIC_CASES))
def test_a_walking_metric_is_a_judge_change_measure_of_its_own(measure: str) -> None:
    protocol_id, field, unit, has_mcid = METRIC_CASES[measure]
    metric = WALK_METRICS[measure]
    assert METRIC_PROTOCOL[measure] == protocol_id and metric in WALK_PROTOCOLS[protocol_id].metrics
    assert (metric.field, metric.unit, metric.has_mcid) == (field, unit, has_mcid)
    assert metric.onset_field in models.Visit.model_fields and field in models.Visit.model_fields
    assert metric.onset_field.endswith(f"_{unit}") and field.endswith(f"_{unit}")
    assert MEASURES[measure].unit == unit and MEASURES[measure].direction == "higher_is_better"
    assert any(row.kind == "MCID" for row in thresholds_for(measure)) is has_mcid
    assert metric.source


# stop reason -> (counts for comparison, FHIR code)
STOP_REASON_CASES: dict[str, tuple[bool, str]] = {
    "symptoms": (True, "walk-stop-symptoms"),
    "fatigue": (True, "walk-stop-fatigue"),
    "time_cap": (True, "walk-stop-time-cap"),
    "other": (False, "walk-stop-other"),
}


def test_every_stop_reason_of_the_catalogue_has_a_case() -> None:
    assert set(STOP_REASON_CASES) == set(STOP_REASONS) == set(fhir_codes.WALK_STOP_REASONS)


@pytest.mark.parametrize("reason", list(STOP_REASON_CASES))
def test_a_stop_reason_is_read_from_its_catalogue_entry_everywhere(reason: str) -> None:
    counts, code = STOP_REASON_CASES[reason]
    entry = STOP_REASONS[reason]
    assert (
        entry.counts_for_comparison is counts and (reason in walking.NOT_COUNTING_STOP_REASONS) is not counts
    )
    assert visit_form.CHOICES["walk_stop_reason"][reason] == entry.form_label
    assert fhir_codes.WALK_STOP_REASONS[reason].code == code
    assert entry.source


def test_only_a_walk_stopped_for_an_unrelated_reason_does_not_count() -> None:
    assert walking.NOT_COUNTING_STOP_REASONS == {"other"} == {walking.UNRELATED_STOP_REASON}


# walking field -> (unit, FHIR component code)
FIELD_CASES: dict[str, tuple[str, str]] = {
    "walk_onset_min": ("min", "walk-onset-time"),
    "walk_onset_m": ("m", "walk-onset-distance"),
    "walk_total_min": ("min", "walk-total-time"),
    "walk_total_m": ("m", "walk-total-distance"),
}


def test_every_walking_field_of_the_catalogue_has_a_case_and_every_metric_field_is_one() -> None:
    assert set(FIELD_CASES) == set(WALK_FIELDS) == set(fhir_codes.WALK_MEASUREMENTS)
    assert {f for m in WALK_METRICS.values() for f in (m.field, m.onset_field)} == set(WALK_FIELDS)


@pytest.mark.parametrize("field", list(FIELD_CASES))
def test_a_walking_field_is_read_from_its_catalogue_entry_everywhere(field: str) -> None:
    unit, code = FIELD_CASES[field]
    entry = WALK_FIELDS[field]
    assert entry.unit == unit == trends.field_unit(field) and field in models.Visit.model_fields
    assert all(m.unit == unit for m in WALK_METRICS.values() if field in (m.field, m.onset_field))
    component, ucum = fhir_codes.WALK_MEASUREMENTS[field]
    assert (component.code, ucum) == (code, fhir_codes.UCUM_UNITS[unit])
    assert trends.WALK_FIELD_WORDS[field] == entry.words and entry.source


def test_the_walking_programme_starts_from_the_timed_tests_else_the_patients_estimate() -> None:
    assert walking.TIMED_TEST_PROTOCOLS == ("spwt", "treadmill_1_2mph")
    assert walking.ESTIMATE_PROTOCOLS == ("reported",)
    assert WALK_PROTOCOLS["6mwt"].programme_reads is None


def test_only_the_6mwt_is_a_loinc_code_that_carries_its_distance_as_the_observation_value() -> None:
    carried = {p.id: p.fhir_value_field for p in WALK_PROTOCOLS.values() if p.fhir_value_field}
    assert carried == {"6mwt": "walk_total_m"}
    assert {p.id for p in WALK_PROTOCOLS.values() if p.fhir_system == "loinc"} == {"6mwt"}
    assert isinstance(fhir_codes.WALK_PROTOCOL_CODES["6mwt"], fhir_codes.Code)


# --- urgency tiers (clinical-reference §2) -----------------------------------------------------

# id -> (rank, alert level, FHIR code)
TIER_CASES: dict[str, tuple[int, str, str]] = {
    "EMERGENCY": (3, "error", "urgency-emergency"),
    "URGENT": (2, "warning", "urgency-urgent"),
    "ROUTINE_REVIEW": (1, "info", "urgency-routine-review"),
    "NONE": (0, "info", "urgency-none"),
}


def test_every_tier_of_the_catalogue_has_a_case_an_engine_value_and_a_model_value() -> None:
    assert set(TIER_CASES) == set(TIERS) == {u.value for u in Urgency} == set(get_args(models.Tier))


@pytest.mark.parametrize("tier_id", list(TIER_CASES))
def test_a_tier_is_read_from_its_catalogue_entry_everywhere(tier_id: str) -> None:
    rank, level, code = TIER_CASES[tier_id]
    entry = TIERS[tier_id]
    assert entry.rank == rank == models.TIER_ORDER[tier_id] == Urgency(tier_id).rank
    assert presenters.TIER_LEVEL[tier_id] == level == entry.alert_level
    assert presenters.TIER_ICON[tier_id] == entry.icon and presenters.TIER_WORDS[tier_id] == entry.words
    assert fhir_codes.URGENCY_CODES[tier_id].code == code
    if rank:
        assert page_text.TIER_SHORT[tier_id] == f"{entry.icon} {entry.short_words}"
    assert entry.source


# --- instruments (clinical-reference §7.2-§7.7, §7.10) -----------------------------------------

# id -> (item count, lowest and highest answer code, licence needed)
INSTRUMENT_CASES: dict[str, tuple[int, object, object, bool]] = {
    "nprs": (1, 0, 10, False),
    "odi": (10, 0, 5, True),
    "rmdq": (24, False, True, True),
    "startback": (9, None, None, True),
    "zcq": (18, 1, 5, True),
    "psfs": (5, 0, 10, False),
}


def test_every_instrument_of_the_catalogue_has_a_case() -> None:
    assert set(INSTRUMENT_CASES) == set(INSTRUMENTS)
    assert set(licences.LICENSED_INSTRUMENTS) == {k for k, c in INSTRUMENT_CASES.items() if c[3]}


@pytest.mark.parametrize("instrument_id", list(INSTRUMENT_CASES))
def test_an_instrument_declares_its_items_labels_licence_and_export_once(instrument_id: str) -> None:
    count, low, high, needs_licence = INSTRUMENT_CASES[instrument_id]
    entry = INSTRUMENTS[instrument_id]
    assert entry.item_count == count == len(entry.item_codes) == len(entry.labels) == len(entry.allowed)
    assert list(entry.allowed) == list(entry.item_codes)
    assert entry.visit_field in models.Visit.model_fields
    assert (entry.licence_key is not None) is needs_licence
    if needs_licence:
        assert licences.INSTRUMENT_FIELD[entry.licence_key or ""] == entry.visit_field
    if low is not None:
        codes = set().union(*entry.allowed.values())
        assert (min(codes), max(codes)) == (low, high)  # type: ignore[type-var]
    # Neutral labels only: short, written by us, never an instrument's wording (§7.10).
    assert all(0 < len(label) <= 25 for label in entry.labels)
    assert (entry.export is None) is (instrument_id == "nprs")
    assert entry.derived_measures and entry.source


def test_an_instruments_item_codes_and_count_are_those_of_its_allowed_answers() -> None:
    assert INSTRUMENTS["zcq"].item_codes == tuple(f"q{i}" for i in range(1, 19))
    assert INSTRUMENTS["zcq"].allowed["q7"] == {1, 3, 5} and INSTRUMENTS["zcq"].allowed["q8"] == {1, 2, 3, 4}
    assert INSTRUMENTS["odi"].item_codes == tuple(str(i) for i in range(1, 11))
    assert INSTRUMENTS["psfs"].item_count == 5


def test_the_visit_model_and_form_read_the_instrument_entries() -> None:
    assert INSTRUMENTS["zcq"].allowed == models.ZCQ_ALLOWED
    assert INSTRUMENTS["startback"].item_codes == models.STARTBACK_ITEMS
    assert INSTRUMENTS["odi"].labels == visit_form.ODI_SECTIONS
    assert INSTRUMENTS["zcq"].labels == visit_form.ZCQ_LABELS
    assert set(get_args(models.Bothersome)) == INSTRUMENTS["startback"].allowed["q9"]
    assert set(get_args(models.AgreeDisagree)) == INSTRUMENTS["startback"].allowed["q1"]


# --- how a catalogue table is built and read ---------------------------------------------------


def test_a_catalogue_table_keys_its_entries_by_id_in_declared_order() -> None:
    table = by_id(STOP_REASONS["time_cap"], STOP_REASONS["symptoms"])
    assert list(table) == ["time_cap", "symptoms"] and table["symptoms"] is STOP_REASONS["symptoms"]


def test_looking_up_an_unknown_id_names_the_field_and_the_known_ids() -> None:
    assert lookup(TIERS, "URGENT", "tier") is TIERS["URGENT"]
    with pytest.raises(
        ValueError, match="tier: unknown; expected one of NONE, ROUTINE_REVIEW, URGENT, EMERGENCY"
    ):
        lookup(TIERS, "SOON", "tier")
    with pytest.raises(ValueError, match="^walk_protocol: unknown"):
        catalogue.protocol("stairs")
    with pytest.raises(ValueError, match="^instrument: unknown"):
        catalogue.instrument("sf36")
