"""AppTest checks of the Caseload page's paging and search (issue 24): previous and next, "page x of
y", the count, a new filter back on the first page, and search text that is only text."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import caseload_query
from dashboard import page_keys as keys
from data.store import SqlStore
from tests.app.test_pages import logged_in, open_page, texts

K = keys.Caseload


@pytest.fixture
def three_a_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of three patients, so the demo clinic of 8 makes three pages."""
    monkeypatch.setattr(caseload_query, "PAGE_SIZE", 3)


def every_patient(clinic: SqlStore) -> AppTest:
    at = open_page(logged_in(clinic), "pages/caseload.py")
    at.selectbox(key=K.EPISODES).select("All patients").run()
    assert not at.exception, at.exception
    return at


def shown_refs(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["patient_ref"])


def test_the_caseload_pages_forward_and_back_with_where_it_is_and_the_count(
    clinic: SqlStore, three_a_page: None
) -> None:
    at = every_patient(clinic)
    assert "8 of 8 patients" in texts(at, "caption")
    assert "Page 1 of 3 · patients 1–3 of 8" in texts(at, "caption")
    assert at.button(key=K.PREVIOUS).disabled and not at.button(key=K.NEXT).disabled
    first = shown_refs(at)

    at.button(key=K.NEXT).click().run()
    assert "Page 2 of 3 · patients 4–6 of 8" in texts(at, "caption")
    second = shown_refs(at)
    assert len(second) == 3 and not set(first) & set(second)

    at.button(key=K.NEXT).click().run()
    assert "Page 3 of 3 · patients 7–8 of 8" in texts(at, "caption")
    assert len(shown_refs(at)) == 2 and at.button(key=K.NEXT).disabled
    assert len({*first, *second, *shown_refs(at)}) == 8  # every patient once across the pages

    at.button(key=K.PREVIOUS).click().run()
    assert shown_refs(at) == second


def test_a_new_filter_or_sort_starts_again_at_the_first_page(clinic: SqlStore, three_a_page: None) -> None:
    at = every_patient(clinic)
    at.button(key=K.NEXT).click().run()
    assert "Page 2 of 3" in texts(at, "caption")
    at.selectbox(key=K.SORT).select("Name").run()
    assert "Page 1 of 3" in texts(at, "caption")
    names = list(at.dataframe[0].value["name"])
    assert names == sorted(names)


def test_the_search_finds_a_patient_by_reference_and_treats_wildcards_as_text(clinic: SqlStore) -> None:
    at = every_patient(clinic)
    ref = shown_refs(at)[0]
    at.text_input(key=K.SEARCH).input(ref.lower()).run()
    assert shown_refs(at) == [ref]
    assert "1 of 8 patients" in texts(at, "caption")
    at.text_input(key=K.SEARCH).input("%").run()
    assert not at.exception
    assert "No patient matches these filters" in texts(at, "info")
    at.text_input(key=K.SEARCH).input("x" * 5000).run()
    assert not at.exception
    assert "first 200 characters" in texts(at, "caption")
