"""The patient's handout language is stored, read back and checked as a BCP 47 tag (migration 0008)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from tests.factories import make_patient


def test_a_patient_keeps_the_handout_language_chosen_for_them(store: Any) -> None:
    with store.transaction() as tx:
        saved = tx.insert_patient(make_patient(language="ar"))
    with store.read() as tx:
        assert tx.get_patient(saved.id).language == "ar"


def test_a_patient_without_a_language_reads_as_english() -> None:
    assert make_patient().language == "en"


def test_a_language_that_is_not_a_language_tag_is_refused_by_field() -> None:
    with pytest.raises(ValidationError) as error:
        make_patient(language="Arabic please")
    assert error.value.errors()[0]["loc"] == ("language",)


def test_the_language_column_is_in_the_migrated_schema(store: Any, database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        columns = {column["name"] for column in sa.inspect(engine).get_columns("patients")}
    finally:
        engine.dispose()
    assert "language" in columns
