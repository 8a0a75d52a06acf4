"""server.answer_by_key: Streamlit's `filtered_state` as a view read one key at a time gives exactly what
the whole dict gave, for every key of a real visit form's session (user keys, widget values, and the
ids and internal keys it leaves out), so widgets decide their value as before, only without a copy of
the whole session state per widget."""

from __future__ import annotations

from typing import Any

import pytest
import streamlit
from streamlit.runtime.state.safe_session_state import SafeSessionState

import server
from data.store import SqlStore
from tests.app.test_visit_and_patients import log_in, open_visit_page, patient_id, whole_page


def whole_state(safe: SafeSessionState) -> dict[str, Any]:
    # The dict Streamlit 1.67 builds (SessionState.filtered_state), read under the wrapper's lock.
    with safe._lock:
        return safe._state.filtered_state


@pytest.fixture
def visit_session(clinic: SqlStore) -> SafeSessionState:
    at = open_visit_page(log_in(), patient_id(clinic, "DEMO-00001"))
    at.number_input(key="v_pain_nrs").set_value(4).run()
    whole_page(at).text_area(key="v_notes").input("Walked to the shops").run()
    assert not at.exception
    return at._session_state


def test_streamlit_is_the_version_whose_state_is_read_by_key() -> None:
    assert getattr(SafeSessionState, "stride_keyed", False)  # tests run Streamlit as server.py does
    assert streamlit.__version__ == server.KEYED_STATE_STREAMLIT  # a new Streamlit must be checked again


def test_the_keyed_view_gives_what_the_whole_dict_gave_for_every_key(visit_session: SafeSessionState) -> None:
    whole = whole_state(visit_session)
    view = visit_session.filtered_state
    assert len(whole) > 100 and whole["v_pain_nrs"] == 4 and whole["v_notes"] == "Walked to the shops"
    assert dict(view) == whole  # iterating the view is the whole state, as before
    for key, value in whole.items():
        assert key in view and view[key] == value
    with visit_session._lock:
        hidden = [k for k in visit_session._state._keys() if k not in whole]  # element ids, internal keys
    assert hidden
    for key in [*hidden, "no_such_key", "$$STREAMLIT_INTERNAL_KEY_x"]:
        assert key not in view
        with pytest.raises(KeyError):
            view[key]
