"""AppTest runs every script as a real server does: app.py (login gate, sidebar) and then the page.

AppTest resets Streamlit's process-wide `PagesManager.uses_pages_directory` before each run, and the
`pages/` folder beside app.py then sends runs after the first down Streamlit's old multipage path,
which executes the page file alone. A real server's `st.navigation` turns the flag off for good, so
the fixture does the same (see tests/benchmarks/run.py, PageRunner).
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from data.demo import generate
from data.store import SqlStore, open_store

# A backslash before ASCII punctuation: how dashboard.safe_text.md_escape shows user text literally.
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def as_shown(markdown: str) -> str:
    """Markdown source as the reader sees its words: backslash escapes and md_escape's joiners removed."""
    return _ESCAPED.sub(r"\1", markdown).replace("\u2060", "")


@pytest.fixture(autouse=True)
def run_pages_through_the_router(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    original_init = PagesManager.__init__

    def init_as_a_server_would(manager: Any, *args: Any, **kwargs: Any) -> None:
        original_init(manager, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_as_a_server_would)
    yield
    PagesManager.uses_pages_directory = None


@pytest.fixture
def clinic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlStore]:
    """A demo clinic of 8 patients in a fresh SQLite file that the app will open."""
    url = f"sqlite:///{tmp_path}/stride.sqlite3"
    monkeypatch.setenv("STRIDE_DATABASE_URL", url)
    st.cache_resource.clear()
    store = open_store(url)
    generate(store, patients=8, seed=3)
    try:
        yield store
    finally:
        st.cache_resource.clear()
        store.close()
