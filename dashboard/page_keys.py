"""Session-state and widget keys, named once.

A key that two scripts share (the router and a page, or two pages) is a constant here, so a
typo cannot split one value into two. Each page's own widget keys live in the class named after
the page; a page builds the rest of its keys from its class's ``PREFIX``.
"""

from __future__ import annotations

from typing import Final

# Set by the router (app.py) on every run.
STORE: Final = "store"
SETTINGS: Final = "settings"
USER: Final = "user"
IS_DEMO: Final = "is_demo"
LIBRARY_LOADER: Final = "library_loader"
LAST_SEEN: Final = "last_seen"

# The chosen patient: in the session and in the address (``?patient=<opaque id>``).
PATIENT_ID: Final = "patient_id"
PATIENT_QUERY: Final = "patient"

# Progress asks the visit page to correct one visit.
CORRECT_VISIT_ID: Final = "correct_visit_id"


class Patients:
    """Keys of the Patients page (the values the app and browser tests use); ``{}`` takes an id."""

    SEARCH: Final = "patient_search"
    SHOW_ARCHIVED: Final = "show_archived"
    OPEN: Final = "open_{}"  # a found patient's Open button, by patient id
    ADD_FORM: Final = "add_patient"
    NEW: Final = "new"  # the add form's fields: "new_ref", "new_given", ...
    EDIT_FORM: Final = "edit_patient"
    EDIT: Final = "edit"  # the edit form's fields: "edit_ref", "edit_given", ...
    SHORT_NAMES: Final = {
        "patient_ref": "ref",
        "given_name": "given",
        "family_name": "family",
        "birth_date": "birth",
        "symptom_onset": "onset",
        "next_review_date": "review",
    }

    EDIT_REASON: Final = "edit_reason"
    CORRECT: Final = "correct_{}"  # a listed visit's Correct button, by visit id
    ARCHIVE_REASON: Final = "archive_reason"
    ARCHIVE_TOGGLE: Final = "archive_toggle"

    @staticmethod
    def field(form: str, name: str) -> str:
        """A form field's key, "<form>_<short name>" ("new_ref"); other fields keep their own name."""
        return f"{form}_{Patients.SHORT_NAMES.get(name, name)}"


class Visit:
    """Keys of the Visit page: every widget of the form lives under this prefix in session state."""

    PREFIX: Final = "v_"


class Progress:
    """Keys of the Progress page."""

    PREFIX: Final = "pr_"


class Plan:
    """Keys of the Plan & handout page."""

    PREFIX: Final = "pl_"


class Caseload:
    """Keys of the Caseload page (the values the app and browser tests use)."""

    CLINICIAN: Final = "caseload_clinician"
    SORT: Final = "caseload_sort"
    EPISODES: Final = "caseload_episodes"
    OPEN_FLAGS: Final = "caseload_open_flags"
    NOT_IMPROVING: Final = "caseload_not_improving"
    OVERDUE: Final = "caseload_overdue"
    TABLE: Final = "caseload_table"
    CSV: Final = "caseload_csv"


class Flags:
    """Keys of the Red flags page (the values the app and browser tests use); ``{}`` takes the id of
    the event's lead escalation."""

    FLASH: Final = "flags_flash"  # the message shown once after a close
    LETTER: Final = "flags_letter"  # (patient id, letter id) of the referral letter just written
    LETTER_DOWNLOAD: Final = "flags_letter_download"
    TIERS: Final = "flags_tiers"
    CLINICIAN: Final = "flags_clinician"
    AGE: Final = "flags_age"
    CARD: Final = "flag_{}"
    OPEN: Final = "open_{}"
    CLOSE_FORM: Final = "close_{}"
    CLOSE_ACTION: Final = "close_action_{}"
    CLOSE_DETAIL: Final = "close_detail_{}"
    CLOSE_SUBMIT: Final = "close_submit_{}"
    REFER_FORM: Final = "refer_{}"
    REFER_TO: Final = "refer_to_{}"
    REFER_TOLD: Final = "refer_told_{}"
    REFER_ON: Final = "refer_on_{}"
    REFER_AT: Final = "refer_at_{}"
    REFER_REF: Final = "refer_ref_{}"
    REFER_SUBMIT: Final = "refer_submit_{}"


class Outcomes:
    """Keys of the Outcomes page (the values the app and browser tests use)."""

    KIND: Final = "outcomes_kind"
    START: Final = "outcomes_start"
    END: Final = "outcomes_end"
    PERIOD: Final = "outcomes_{}"  # the period list of one kind: "outcomes_month", "outcomes_quarter", ...
    CLINICIAN: Final = "outcomes_clinician"
    STARTBACK: Final = "outcomes_startback"
    AGE: Final = "outcomes_age"
    DURATION: Final = "outcomes_duration"
    MEASURES: Final = "outcomes_measures"
    MEASURE: Final = "outcomes_measure"
    FUNNEL: Final = "outcomes_funnel"
    FUNNEL_TABLE: Final = "outcomes_funnel_table"
    TREND: Final = "outcomes_trend"
    CASE_MIX: Final = "outcomes_mix_{}"  # one table per case-mix dimension, by its place
    REASONS: Final = "outcomes_reasons"
    TIMELINESS: Final = "outcomes_timeliness"
    REFRESH: Final = "outcomes_refresh"
    WITH_REFS: Final = "outcomes_refs"
    PDF: Final = "outcomes_pdf"
    CSV: Final = "outcomes_csv"


class Account:
    """Keys of the My account and Log in pages."""

    PREFIX: Final = "ac_"


class Admin:
    """Keys of the Admin page."""

    PREFIX: Final = "ad_"
