"""Properties of recording visits through the services and the store (SQLite, one database per module).

Hypothesis runs with the profile loaded in tests/conftest.py ("dev" locally, "ci" under CI=true).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import services
from dashboard.models import (
    BOOKKEEPING_FIELDS,
    WALK_CAP_MIN,
    WALK_PROTOCOLS,
    ZCQ_ALLOWED,
    AgreeDisagree,
    Bothersome,
    Change4,
    LegWeakness,
    PedalPulses,
    Relief,
    SymptomLocation,
    Trauma,
    Visit,
    WalkStopReason,
)
from dashboard.ports import InvalidInputError
from data.store import open_store
from tests.integration.support import license_all_instruments, make_team, patient_values

ONSET = dt.date(2020, 1, 6)
TODAY = dt.date.today()
# The first day that is still in the future when the suite, collected before midnight, runs after it.
FUTURE = TODAY + dt.timedelta(days=2)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One SQLite store for the module, with a clinician, every instrument licensed and one patient."""
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('properties')}/stride.sqlite3")
    team = make_team(store)
    license_all_instruments(store, team.admin)
    patient = services.register_patient(
        store, team.clinician, patient_values(birth_date=dt.date(1950, 7, 1), symptom_onset=ONSET)
    )
    try:
        yield {"store": store, "clinician": team.clinician, "patient_id": patient.id}
    finally:
        store.close()


def clinical(visit: Visit) -> dict[str, Any]:
    return visit.model_dump(exclude=set(BOOKKEEPING_FIELDS))


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def choice(literal: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(get_args(literal))


# --- valid visits --------------------------------------------------------------------------------

# Valid free text has no control characters (models refuse them); a one-line field may hold a tab,
# notes may also hold line breaks.
one_line = st.characters(exclude_categories=("Cc", "Cs"), include_characters="\t")
multi_line = st.characters(exclude_categories=("Cc", "Cs"), include_characters="\t\n\r")
words = st.text(one_line, min_size=1, max_size=60).filter(lambda s: s.strip() != "")

FIXED: dict[str, st.SearchStrategy[Any]] = {
    "pain_nrs": optional(st.integers(0, 10)),
    "pain_worst_nrs": optional(st.integers(0, 10)),
    "odi_sections": optional(st.lists(optional(st.integers(0, 5)), min_size=10, max_size=10)),
    "rmdq_items": optional(st.lists(st.booleans(), min_size=24, max_size=24)),
    "psfs": optional(
        st.lists(
            st.fixed_dictionaries({"activity": words, "score": optional(st.integers(0, 10))}),
            max_size=5,
        )
    ),
    "walk_stop_reason": optional(choice(WalkStopReason)),
    "leg_pain_on_walking": optional(st.booleans()),
    "relief": optional(choice(Relief)),
    "symptom_location": optional(choice(SymptomLocation)),
    "shopping_cart_sign": optional(st.booleans()),
    "triggered_by_standing_alone": optional(st.booleans()),
    "pedal_pulses": choice(PedalPulses),
    "saddle_anaesthesia": optional(choice(Change4)),
    "bladder_dysfunction": optional(choice(Change4)),
    "bowel_dysfunction": optional(choice(Change4)),
    "sexual_dysfunction": optional(choice(Change4)),
    "bilateral_radicular_pain": optional(choice(Change4)),
    "new_radicular_pain": optional(st.booleans()),
    "leg_weakness": optional(choice(LegWeakness)),
    "leg_weakness_mrc": optional(st.integers(0, 5)),
    "difficulty_walking_new": optional(st.booleans()),
    "fever": optional(st.booleans()),
    "systemically_unwell": optional(st.booleans()),
    "recent_infection": optional(st.booleans()),
    "temperature_c": optional(st.floats(30, 45)),
    "unexplained_weight_loss": optional(st.booleans()),
    "night_pain": optional(st.booleans()),
    "trauma": optional(choice(Trauma)),
    "sudden_severe_pain": optional(st.booleans()),
    "pulsatile_abdominal_mass": optional(st.booleans()),
    "rest_pain_or_tissue_loss": optional(st.booleans()),
    "posture_findings": st.sets(words, max_size=3),
    "footwear_findings": st.sets(words, max_size=3),
    "notes": st.text(multi_line, max_size=400),
}


def _ordered_pair(top: float) -> st.SearchStrategy[tuple[float | None, float | None]]:
    """(onset, total) with onset <= total when both are given; either may be missing."""
    value = st.floats(0, top, allow_nan=False, allow_infinity=False)
    both = st.tuples(value, value).map(lambda p: (min(p), max(p)))
    return both | st.tuples(optional(value), st.none()) | st.tuples(st.none(), optional(value))


@st.composite
def valid_visits(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, Any] = {"visit_date": draw(st.dates(ONSET, TODAY))}
    for name, strategy in FIXED.items():
        if draw(st.booleans()):
            values[name] = draw(strategy)
    if draw(st.booleans()):
        keys = draw(st.sets(st.sampled_from(sorted(ZCQ_ALLOWED))))
        values["zcq_items"] = {k: draw(st.sampled_from(sorted(ZCQ_ALLOWED[k]))) for k in keys}
    if draw(st.booleans()):
        keys = draw(st.sets(st.sampled_from([f"q{i}" for i in range(1, 10)])))
        values["startback"] = {
            k: draw(choice(Bothersome) if k == "q9" else choice(AgreeDisagree)) for k in keys
        }
    protocol = draw(optional(st.sampled_from(WALK_PROTOCOLS)))
    if protocol is not None:
        values["walk_protocol"] = protocol
        onset_min, total_min = draw(_ordered_pair(WALK_CAP_MIN.get(protocol, 600.0)))
        onset_m, total_m = draw(_ordered_pair(100_000.0))
        values.update(walk_onset_min=onset_min, walk_total_min=total_min)
        values.update(walk_onset_m=onset_m, walk_total_m=total_m)
    return values


@given(values=valid_visits())
def test_a_random_valid_visit_round_trips_through_the_store_unchanged(
    world: dict[str, Any], values: dict[str, Any]
) -> None:
    saved, screening = services.record_visit(world["store"], world["clinician"], world["patient_id"], values)

    with world["store"].read() as tx:
        stored = tx.get_visit(saved.id or "")
        episode = tx.open_episode(world["patient_id"])
    assert stored is not None and episode is not None
    # The visit joins the patient's open episode of care (clinical-reference §11.1).
    expected = Visit.model_validate({**values, "patient_id": world["patient_id"], "episode_id": episode.id})
    assert clinical(stored) == clinical(saved) == clinical(expected)
    assert stored.clinical_dict().keys() == expected.clinical_dict().keys()
    assert screening.visit_id is not None


# --- invalid values ------------------------------------------------------------------------------

# Text that cannot be a valid answer to anything, and that no message could contain by accident.
marker = st.text(min_size=1, max_size=30).map(lambda s: f"«{s}»")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w])")
finite = {"allow_nan": False, "allow_infinity": False}


def _case(field: str, bad: Any, **values: Any) -> tuple[str, Any, dict[str, Any]]:
    return field, bad, {"visit_date": dt.date(2025, 3, 3), **values}


def _field(field: str, strategy: st.SearchStrategy[Any], **extra: Any) -> st.SearchStrategy[Any]:
    return strategy.map(lambda bad: _case(field, bad, **{field: bad}, **extra))


def _capped(protocol: str) -> st.SearchStrategy[Any]:
    cap = WALK_CAP_MIN[protocol]
    over = st.floats(cap, 10 * cap, exclude_min=True, **finite)
    return st.sampled_from(["walk_onset_min", "walk_total_min"]).flatmap(
        lambda name: _field(name, over, walk_protocol=protocol)
    )


@st.composite
def _total_below_onset(draw: st.DrawFn) -> tuple[str, Any, dict[str, Any]]:
    unit = draw(st.sampled_from(["min", "m"]))
    onset = draw(st.floats(0.5, 6.0 if unit == "min" else 5000.0, **finite))
    total = draw(st.floats(0, onset, exclude_max=True, **finite))
    return _case(
        f"walk_total_{unit}",
        total,
        walk_protocol="6mwt",
        **{f"walk_onset_{unit}": onset, f"walk_total_{unit}": total},
    )


@st.composite
def _bad_list_item(draw: st.DrawFn) -> tuple[str, Any, dict[str, Any]]:
    bad = draw(st.integers(10, 10_000) | st.integers(max_value=-1))
    items: list[int | None] = [1] * 10
    items[draw(st.integers(0, 9))] = bad
    return _case("odi_sections", bad, odi_sections=items)


non_finite = st.sampled_from([math.inf, -math.inf, math.nan])
nrs_bad = st.integers(min_value=11) | st.integers(max_value=-1)
fractional = st.floats(0.01, 9.99, **finite).filter(lambda x: not x.is_integer())

INVALID = st.one_of(
    _field("pain_nrs", nrs_bad | fractional),
    _field("pain_worst_nrs", nrs_bad),
    _field("leg_weakness_mrc", st.integers(min_value=6) | st.integers(max_value=-1)),
    _field(
        "temperature_c",
        st.floats(max_value=30, exclude_max=True) | st.floats(min_value=45, exclude_min=True) | non_finite,
    ),
    st.sampled_from(["walk_onset_min", "walk_onset_m", "walk_total_min", "walk_total_m"]).flatmap(
        lambda name: _field(
            name, st.floats(max_value=0, exclude_max=True) | non_finite, walk_protocol="reported"
        )
    ),
    _capped("spwt"),
    _capped("treadmill_1_2mph"),
    _capped("6mwt"),
    _total_below_onset(),
    _field("visit_date", st.dates(FUTURE, TODAY + dt.timedelta(days=3650))),
    _field("visit_date", st.dates(dt.date(1990, 1, 1), ONSET - dt.timedelta(days=1))),
    _field("visit_date", marker),
    _bad_list_item(),
    st.sampled_from(
        ["saddle_anaesthesia", "bladder_dysfunction", "leg_weakness", "trauma", "relief"]
    ).flatmap(lambda name: _field(name, marker)),
    st.sampled_from(["fever", "night_pain", "new_radicular_pain"]).flatmap(lambda name: _field(name, marker)),
    st.tuples(st.sampled_from(sorted(ZCQ_ALLOWED)), st.integers(6, 1000)).map(
        lambda kv: _case("zcq_items", kv[1], zcq_items={kv[0]: kv[1]})
    ),
    st.tuples(st.sampled_from([f"q{i}" for i in range(1, 10)]), marker).map(
        lambda kv: _case("startback", kv[1], startback={kv[0]: kv[1]})
    ),
    _field("notes", st.text(min_size=1, max_size=20).map(lambda s: "«" + s * (5001 // len(s) + 1) + "»")),
    marker.map(lambda bad: _case("favourite_colour", bad, favourite_colour=bad)),
    st.integers(11, 1000).map(lambda bad: _case("psfs", bad, psfs=[{"activity": "Walking", "score": bad}])),
)


def _leaks(bad: Any, message: str) -> bool:
    """True when the message shows the rejected value (numbers compared as numbers, not substrings)."""
    if isinstance(bad, bool):
        return False
    if isinstance(bad, int | float):
        if isinstance(bad, float) and not math.isfinite(bad):  # "inf" is inside "finite": whole words only
            return re.search(rf"(?<![a-z]){repr(abs(bad))}(?![a-z])", message.lower()) is not None
        return any(float(token) == bad for token in NUMBER.findall(message))
    if isinstance(bad, dt.date):
        return bad.isoformat() in message
    return str(bad) in message


@given(case=INVALID)
def test_a_random_invalid_value_is_refused_with_a_field_message_that_never_shows_it(
    world: dict[str, Any], case: tuple[str, Any, dict[str, Any]]
) -> None:
    field, bad, values = case
    store, patient_id = world["store"], world["patient_id"]
    with store.read() as tx:
        before = len(tx.visits(patient_id, include_archived=True))

    with pytest.raises(InvalidInputError) as caught:
        services.record_visit(store, world["clinician"], patient_id, values)

    assert field in caught.value.errors, caught.value.errors
    assert caught.value.errors[field].strip()
    for text in (str(caught.value), *caught.value.errors.values()):
        assert not _leaks(bad, text), text
    with store.read() as tx:
        assert len(tx.visits(patient_id, include_archived=True)) == before


PATIENT_INVALID = st.one_of(
    marker.map(lambda bad: ("sex", bad)),
    st.text(min_size=1, max_size=5).map(lambda s: ("patient_ref", "«" + s * (41 // len(s) + 1) + "»")),
    st.text(min_size=1, max_size=5).map(lambda s: ("given_name", "«" + s * (101 // len(s) + 1) + "»")),
    st.dates(FUTURE, TODAY + dt.timedelta(days=3650)).map(lambda d: ("birth_date", d)),
    st.dates(FUTURE, TODAY + dt.timedelta(days=3650)).map(lambda d: ("symptom_onset", d)),
    marker.map(lambda bad: ("birth_date", bad)),
)


@given(case=PATIENT_INVALID)
def test_a_random_invalid_patient_value_is_refused_with_a_field_message_that_never_shows_it(
    world: dict[str, Any], case: tuple[str, Any]
) -> None:
    field, bad = case
    store = world["store"]
    with store.read() as tx:
        before = tx.count_patients()

    with pytest.raises(InvalidInputError) as caught:
        services.register_patient(
            store, world["clinician"], patient_values(**{"patient_ref": "PROP-1", field: bad})
        )

    assert field in caught.value.errors, caught.value.errors
    for text in (str(caught.value), *caught.value.errors.values()):
        assert not _leaks(bad, text), text
    with store.read() as tx:
        assert tx.count_patients() == before
