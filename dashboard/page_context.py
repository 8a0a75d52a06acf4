"""What every page starts from, in one line: the store, the signed-in user, settings, the patient.

The router (app.py) puts the store, settings and user into the session; a page script calls
:func:`page_context` with ``st.session_state`` and ``st.query_params`` (plain mappings here, so
this module imports no streamlit) and sends the browser back through the router when it returns
None. The session-state keys shared between pages are named once, in :mod:`dashboard.page_keys`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from dashboard import auth
from dashboard import page_keys as keys
from dashboard.config import Settings
from dashboard.plan import Library
from dashboard.ports import Store, User


@dataclass(frozen=True)
class PageContext:
    """One page run's store, the signed-in user (re-read from the store by the router) and settings."""

    store: Store
    user: User
    settings: Settings
    patient_id: str  # the chosen patient's opaque id, "" when none is chosen
    is_demo: bool
    library_loader: Callable[[], Library] | None

    def library(self) -> Library:
        """The advice and exercise library, loaded once per process by the router."""
        if self.library_loader is None:  # pragma: no cover - the router always sets it
            raise LookupError("the advice library is not loaded")
        return self.library_loader()

    def can(self, permission: str) -> bool:
        """Whether the signed-in user's role (re-read from the store by the router this run) allows
        `permission`: what a page offers; every service checks the stored account again."""
        return auth.can(self.user.role, permission)


def chosen_patient_id(session: Mapping[Any, Any], query: Mapping[str, str]) -> str:
    """The patient the address names (a shared link, F5), else the one chosen in this session; "" if none."""
    return str(query.get(keys.PATIENT_QUERY) or session.get(keys.PATIENT_ID) or "")


def page_context(session: Mapping[Any, Any], query: Mapping[str, str]) -> PageContext | None:
    """The page's context, or None before the router has run (a deep link as the first request)."""
    if keys.STORE not in session or keys.USER not in session or session[keys.USER] is None:
        return None
    return PageContext(
        store=session[keys.STORE],
        user=session[keys.USER],
        settings=session[keys.SETTINGS],
        patient_id=chosen_patient_id(session, query),
        is_demo=bool(session.get(keys.IS_DEMO, False)),
        library_loader=session.get(keys.LIBRARY_LOADER),
    )


def remember_patient(
    session: MutableMapping[Any, Any], query: MutableMapping[str, str], patient_id: str
) -> None:
    """Make ``patient_id`` the chosen patient of this session and of the address (so F5 keeps it)."""
    session[keys.PATIENT_ID] = patient_id
    if query.get(keys.PATIENT_QUERY) != patient_id:
        query[keys.PATIENT_QUERY] = patient_id
