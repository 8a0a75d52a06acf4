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
    DONE: Final = "ci_done"  # the token hash this session sent its check-in for, and the tier
    SAVED: Final = "ci_saved"  # a diary walk was just saved (the thanks, once)
    SAVED_COUNT: Final = "ci_saved_count"  # walks saved in this tab: the diary form's keys start anew
    EARLY: Final = "ci_early_recorded"  # an emergency answer already recorded before submitting
    PLAN_HTML: Final = "ci_plan_html"  # (invite id, the web plan shown): read and audited once a session


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
    # Patient links (issue 21): the link just created, kept in the session only until Done or another
    # patient (dashboard.invite_views.ShownLink; the store keeps only the token's hash).
    NEW_LINK: Final = "patient_new_link"
    CREATE_LINK: Final = "create_link_{}"  # by kind: "create_link_checkin", "_diary", "_plan"
    LINK_DONE: Final = "link_done"
    LINK_SLIP: Final = "link_slip"
    REVOKE_LINK: Final = "revoke_link_{}"  # a listed open link's Revoke button, by invite id

    @staticmethod
    def field(form: str, name: str) -> str:
        """A form field's key, "<form>_<short name>" ("new_ref"); other fields keep their own name."""
        return f"{form}_{Patients.SHORT_NAMES.get(name, name)}"


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
    REPORT: Final = "v_report"  # the patient's check-in this new visit reviews (None: none)
    CONFIRM_REPORTED: Final = "v_confirm_reported"
    REASON: Final = "v_reason"
    NEXT_REVIEW_DATE: Final = "v_next_review_date"
    SAVE: Final = "v_save"
    # The form's sections, each an st.fragment named by its key (st.rerun takes it): a field edit reruns
    # its own section, the closing one and, when the field feeds them, the derived values.
    PAIN_SECTION: Final = "visit_pain"
    WALKING_SECTION: Final = "visit_walking"
    SYMPTOMS_SECTION: Final = "visit_symptoms"
    SCREENING_SECTION: Final = "visit_screening_"  # + the screening group: "ces", "neuro", ...
    QUESTIONNAIRE_SECTION: Final = "visit_questionnaire_"  # + "odi", "startback", "rmdq", "zcq", "psfs"
    FINDINGS_SECTION: Final = "visit_findings"
    DERIVED_SECTION: Final = "visit_derived"  # scores, claudication pattern, change table
    CLOSING_SECTION: Final = "visit_closing"  # next review, confirmations, the live CES warning
    # The screening of the visit just saved, shown after the rerun; an EMERGENCY waits for its dialog.
    SAVED_SCREENING: Final = "visit_saved_screening"
    # Set by the Save button's callback until the page's next full run shows what the click did.
    SAVE_CLICKED: Final = "visit_save_clicked"
    SAVE_REFUSAL: Final = "visit_save_refusal"  # a refusal that is no field's, shown once
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
    DIARY_TABLE: Final = "progress_diary_table"
    FHIR: Final = "progress_fhir"
    SUBJECT_ACCESS: Final = "progress_sar"


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
    WEB_DOWNLOAD: Final = "plan_web_download"  # the web version (HTML) of the plan as edited
    WEB_PREVIEW: Final = "plan_web_preview"


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
    SEARCH: Final = "caseload_search"
    PAGE: Final = "caseload_page"  # the 1-based page shown (session state; back to 1 on a new filter)
    PREVIOUS: Final = "caseload_previous"
    NEXT: Final = "caseload_next"


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
    # My account: change your own password.
    FLASH: Final = "account_flash"
    CHANGE_FORM: Final = "account_password"
    CURRENT: Final = "account_current"
    NEW: Final = "account_new"
    REPEAT: Final = "account_repeat"
    SUBMIT: Final = "account_submit"
    # Log in, and the new password an admin's reset asks for before any page.
    LOGIN_FORM: Final = "login"
    USERNAME: Final = "login_username"
    PASSWORD: Final = "login_password"
    REQUIRED_FORM: Final = "required_password"
    REQUIRED_NEW: Final = "required_new"
    REQUIRED_REPEAT: Final = "required_repeat"
    REQUIRED_SUBMIT: Final = "required_submit"
    REQUIRED_LOGOUT: Final = "required_logout"


class Admin:
    """Keys of the Admin page (kept as they were: the app and browser tests use several)."""

    PREFIX: Final = "ad_"
    FLASH: Final = "admin_flash"
    # Users tab.
    USERS_TABLE: Final = "admin_users_table"
    CREATE_FORM: Final = "admin_create_user"
    CREATE_ERRORS: Final = "admin_create_errors"
    NEW_USERNAME: Final = "admin_new_username"
    NEW_DISPLAY_NAME: Final = "admin_new_display_name"
    NEW_ROLE: Final = "admin_new_role"
    NEW_PASSWORD: Final = "admin_new_password"
    CREATE_SUBMIT: Final = "admin_create_submit"
    PICK_USER: Final = "admin_pick_user"
    DEACTIVATE: Final = "admin_deactivate"
    REACTIVATE: Final = "admin_reactivate"
    ROLE: Final = "admin_role"
    SAVE_ROLE: Final = "admin_save_role"
    RESET_FORM: Final = "admin_reset_password"
    RESET_NEW: Final = "admin_reset_new"
    RESET_REPEAT: Final = "admin_reset_repeat"
    RESET_SUBMIT: Final = "admin_reset_submit"
    # Audit trail tab.
    AUDIT_USER: Final = "admin_audit_user"
    AUDIT_PATIENT: Final = "admin_audit_patient"
    AUDIT_ACTION: Final = "admin_audit_action"
    AUDIT_FROM: Final = "admin_audit_from"
    AUDIT_TO: Final = "admin_audit_to"
    AUDIT_TABLE: Final = "admin_audit_table"
    VERIFY_CHAIN: Final = "admin_verify_chain"
    # Rules and licences tab; the translation and licence keys end with the language tag or licence key.
    APPROVE_FORM: Final = "approve_rules"
    APPROVE_NOTE: Final = "approve_note"
    RULE_SETTINGS: Final = "admin_rule_settings"
    RESCREEN_START: Final = "admin_rescreen_start"
    RESCREEN_FLASH: Final = "admin_rescreen_flash"
    TRANSLATION_FORM: Final = "review_translation_"
    TRANSLATION_NOTE: Final = "translation_note_"
    LICENCE_FORM: Final = "licence_"
    LICENCE_BASIS: Final = "licence_basis_"
    # Patient-completed use and the licensed wording, also ending with the licence key.
    PATIENT_USE_FORM: Final = "patient_use_"
    PATIENT_USE_BASIS: Final = "patient_use_basis_"
    PATIENT_USE_OFF_FORM: Final = "patient_use_off_"
    PATIENT_USE_OFF_REASON: Final = "patient_use_off_reason_"
    WORDING_FILE: Final = "wording_file_"
    WORDING_LOAD: Final = "wording_load_"
    RETENTION_YEARS: Final = "retention_years"
    RETENTION_SAVE: Final = "retention_save"
    RETENTION_DUE: Final = "retention_due"
    # Data tab: export, import, erasure.
    EXPORT_HASHES: Final = "export_hashes"
    EXPORT_DOWNLOAD: Final = "export_download"
    EXPORT_CLICKED_AT: Final = "export_clicked_at"
    IMPORT_FILE: Final = "import_file"
    IMPORT_DRY_RUN: Final = "import_dry_run"
    IMPORT_FOREIGN: Final = "import_from_another_clinic"
    IMPORT_RUN: Final = "import_run"
    IMPORT_ERRORS: Final = "import_errors"
    ERASE_FLASH: Final = "erase_flash"
    ERASE_ERRORS: Final = "erase_errors"
    ERASE_REF: Final = "erase_ref"
    ERASE_FORM: Final = "erase_patient_form"
    ERASE_REQUEST_REF: Final = "erase_request_ref"
    ERASE_REASON: Final = "erase_reason"
    ERASE_CONFIRM: Final = "erase_confirm"
    ERASE_SUBMIT: Final = "erase_submit"
