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
# The router tells the login page why the last session ended.
EXPIRED: Final = "expired"
ACCOUNT_ENDED: Final = "account_ended"

# The chosen patient: in the session and in the address (``?patient=<opaque id>``).
PATIENT_ID: Final = "patient_id"
PATIENT_QUERY: Final = "patient"

# Progress asks the visit page to correct one visit.
CORRECT_VISIT_ID: Final = "correct_visit_id"


class Checkin:
    """Keys of the patient's own page (no account): check-in and walking diary."""

    PREFIX: Final = "ci_"
    VERIFIED: Final = "ci_verified_invite"  # the invite whose identity check this session passed
    PROBLEMS: Final = "ci_problems"  # field-level messages of the last refused submit
    DONE: Final = "ci_done"  # the invite this session has sent its check-in for, and the tier
    EARLY: Final = "ci_early_recorded"  # an emergency answer already recorded before submitting


class Patients:
    """Keys of the Patients page."""

    PREFIX: Final = "pt_"


class Visit:
    """Keys of the Visit page: every widget of the form lives under this prefix in session state."""

    PREFIX: Final = "v_"


class Progress:
    """Keys of the Progress page."""

    PREFIX: Final = "pr_"


class Plan:
    """Keys of the Plan & handout page: a new patient's review drops every key under the prefix."""

    PREFIX: Final = "plan_"
    AUDITED: Final = "plan_audited"  # the patient whose opening this session has audited
    HANDOUT_COUNT: Final = "plan_handout_count"  # handouts listed on the previous run
    START_BOUT: Final = "plan_start_bout"
    INCLUDE: Final = "plan_inc_"  # + item or exercise id
    DOSE: Final = "plan_dose_"  # + exercise id
    PROGRAMME: Final = "plan_programme"
    NOTE: Final = "plan_note"
    LARGE_PRINT: Final = "plan_large_print"
    LANGUAGE: Final = "plan_language"
    BILINGUAL: Final = "plan_bilingual"
    DOWNLOAD: Final = "plan_download"
    PREVIEW: Final = "plan_preview"
    GIVEN: Final = "plan_given_"  # + stored handout id


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
