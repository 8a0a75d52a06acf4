"""A file a download button makes on demand stays fetchable on a busy server (server.keep_downloads).

Streamlit 1.67 deletes such a file when any two script runs end and forgets a redrawn button's
callable at the next run's end; under load a browser's fetch came too late. These tests drive
Streamlit's own MediaFileManager, as the script runner and the download request do.
"""

from __future__ import annotations

from typing import Any

import pytest
import streamlit
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

import server

PDF = b"%PDF-1.7 a handout"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def manager(kept: bool, clock: Clock) -> MediaFileManager:
    # A class of its own with Streamlit's methods as shipped (importing server replaced them on
    # MediaFileManager), so the test's clock stays in this test.
    Manager = type("Manager", (MediaFileManager,), dict(server.STREAMLIT_METHODS))
    if kept:
        server.keep_downloads(Manager, clock=clock)
    return Manager(MemoryMediaFileStorage("/media"))


def other_sessions_finish_runs(mgr: MediaFileManager, runs: int = 2) -> None:
    for _ in range(runs):  # what the script runner does when any session's run ends
        mgr.remove_orphaned_files()


def fetch(mgr: MediaFileManager, url: str) -> bytes:
    storage: Any = mgr._storage
    return bytes(storage.get_file(url.rsplit("/", 1)[-1]).content)


def test_streamlit_is_the_version_whose_manager_is_kept() -> None:
    # keep_downloads replaces private methods of this version; a new Streamlit must be checked again.
    assert streamlit.__version__ == server.KEPT_STREAMLIT


@pytest.mark.parametrize("kept", [False, True])
def test_a_made_handout_can_still_be_fetched_after_other_sessions_runs(kept: bool) -> None:
    clock = Clock()
    mgr = manager(kept, clock)
    url = mgr.execute_deferred(mgr.add_deferred(lambda: PDF, "application/pdf", "1.0.2", file_name="h.pdf"))
    other_sessions_finish_runs(mgr)
    if not kept:  # the race this guards against, in Streamlit as shipped
        with pytest.raises(MediaFileStorageError):
            fetch(mgr, url)
        return
    assert fetch(mgr, url) == PDF
    clock.now += server.DOWNLOAD_KEEP_S
    other_sessions_finish_runs(mgr)  # kept for a bounded time only
    with pytest.raises(MediaFileStorageError):
        fetch(mgr, url)


@pytest.mark.parametrize("kept", [False, True])
def test_a_click_made_before_the_button_was_drawn_again_still_makes_the_file(kept: bool) -> None:
    clock = Clock()
    mgr = manager(kept, clock)
    clicked = mgr.add_deferred(lambda: PDF, "application/pdf", "1.0.2")
    mgr.clear_session_refs()  # the click's rerun starts and draws the button again
    mgr.add_deferred(lambda: PDF, "application/pdf", "1.0.2")
    mgr.remove_orphaned_files()  # ... and ends before the download request is handled
    if not kept:
        with pytest.raises(MediaFileStorageError):
            mgr.execute_deferred(clicked)
        return
    assert fetch(mgr, mgr.execute_deferred(clicked)) == PDF
    clock.now += server.CALLABLE_KEEP_S
    mgr.remove_orphaned_files()
    with pytest.raises(MediaFileStorageError):
        mgr.execute_deferred(clicked)


def test_once_fetched_a_made_file_goes_as_streamlit_would_let_it_go() -> None:
    # A clinic export must not stay fetchable by its address after the browser has it.
    mgr = manager(True, Clock())
    url = mgr.execute_deferred(mgr.add_deferred(lambda: PDF, "application/zip", "1.0.2"))
    assert fetch(mgr, url) == PDF  # the browser's one fetch
    other_sessions_finish_runs(mgr)
    with pytest.raises(MediaFileStorageError):
        fetch(mgr, url)


def test_a_disabled_button_still_revokes_its_callable_at_once() -> None:
    mgr = manager(True, Clock())
    clicked = mgr.add_deferred(lambda: PDF, "application/pdf", "1.0.2")
    mgr.remove_deferred("1.0.2")  # what a button drawn disabled does
    with pytest.raises(MediaFileStorageError):
        mgr.execute_deferred(clicked)
