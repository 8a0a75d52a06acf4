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
    """Keys of the Patients page."""

    PREFIX: Final = "pt_"


class Visit:
    """Keys of the Visit page: every widget of the form lives under this prefix in session state."""

    PREFIX: Final = "v_"
    FORM_ID: Final = "v_form_id"  # which form the widgets hold: "<patient id>:<visit id or 'new'>"
    KEPT: Final = "v_kept"  # a plain copy of the form's values (Streamlit drops undrawn widgets)
    ERRORS: Final = "v_errors"
    CARRIED_FROM: Final = "v_carried_from"
    CARRIED_ITEMS: Final = "v_carried_items"
    BASE_VERSION: Final = "v_base_version"
    CONFIRM_CARRIED: Final = "v_confirm_carried"
    REASON: Final = "v_reason"
    NEXT_REVIEW_DATE: Final = "v_next_review_date"
    SAVE: Final = "v_save"
    # The screening of the visit just saved, shown after the rerun; an EMERGENCY waits for its dialog.
    SAVED_SCREENING: Final = "visit_saved_screening"
    RESULT_TO_ACK: Final = "visit_result_to_ack"
    RESULT_ACK: Final = "visit_result_ack"


class Progress:
    """Keys of the Progress page."""

    PREFIX: Final = "pr_"
    AUDITED: Final = "progress_audited"  # the patient whose opening this session already audited
    FLASH: Final = "progress_flash"
    RESCREEN: Final = "progress_rescreen"
    DISCHARGE_FORM: Final = "discharge_form"
    DISCHARGE_DATE: Final = "discharge_date"
    DISCHARGE_REASON: Final = "discharge_reason"
    DISCHARGE_NOTE: Final = "discharge_note"
    DISCHARGE_OVERRIDE: Final = "discharge_override"
    REREFER_FORM: Final = "rerefer_form"
    REREFER_ONSET: Final = "rerefer_onset"
    REREFER_ON: Final = "rerefer_on"
    LETTER: Final = "letter_"  # + the letter's id
    SUMMARY: Final = "summary_"  # + the episode's id
    CHART: Final = "progress_chart_"  # + the chart's name
    CHANGE_TABLE: Final = "progress_change_table"
    FHIR: Final = "progress_fhir"
    SUBJECT_ACCESS: Final = "progress_sar"


class Plan:
    """Keys of the Plan & handout page."""

    PREFIX: Final = "pl_"


class Caseload:
    """Keys of the Caseload page."""

    PREFIX: Final = "cl_"


class Flags:
    """Keys of the Red flags page."""

    PREFIX: Final = "fl_"


class Outcomes:
    """Keys of the Outcomes page."""

    PREFIX: Final = "oc_"


class Account:
    """Keys of the My account and Log in pages."""

    PREFIX: Final = "ac_"


class Admin:
    """Keys of the Admin page."""

    PREFIX: Final = "ad_"
