"""The store's row helpers: a first version's bookkeeping, a record's own columns, a row read back."""

from __future__ import annotations

import datetime as dt
from collections import namedtuple

from dashboard.ports import Revision
from data.store.rows import episode_columns, fields_from_row, first_version, patient_columns, search_key
from tests.factories import make_episode, make_patient

AT = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def test_a_first_version_is_recorded_and_last_changed_at_once_by_the_same_person() -> None:
    assert first_version("r1", "u1", AT) == {
        "id": "r1",
        "version": 1,
        "recorded_at": AT,
        "updated_at": AT,
        "recorded_by": "u1",
        "updated_by": "u1",
        "archived": False,
    }


def test_a_patient_row_holds_the_searchable_name_and_the_clinical_record() -> None:
    patient = make_patient(patient_ref="P-7", given_name="Zoë", family_name="Łukasz")
    columns = patient_columns(patient)
    assert columns["patient_ref"] == "P-7"
    assert columns["search_key"] == search_key("Zoë", "Łukasz", "P-7")
    assert columns["data"] == patient.clinical_dict()
    assert columns["language"] == patient.language


def test_an_episode_row_holds_its_status_and_dates_beside_the_clinical_record() -> None:
    episode = make_episode(patient_id="p1")
    columns = episode_columns(episode)
    assert (columns["patient_id"], columns["status"]) == ("p1", episode.status)
    assert columns["symptom_onset"] == episode.symptom_onset
    assert columns["data"] == episode.clinical_dict()


def test_a_row_is_read_into_a_record_by_field_name_with_conversions_given() -> None:
    Row = namedtuple("Row", "id entity entity_id version changed_at changed_by reason before after")
    row = Row("x", "visit", "v1", 2, "naive", None, "typo", {"a": 1}, {"a": 2})
    revision = Revision(**fields_from_row(row, Revision, changed_at=AT))
    assert revision == Revision("visit", "v1", 2, AT, None, "typo", {"a": 1}, {"a": 2})
