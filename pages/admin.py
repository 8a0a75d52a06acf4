"""Admin: users and roles, the audit trail, rules and licences, clinic export, import and erasure."""

import datetime as dt
import functools
import time
from collections.abc import Callable, Mapping
from typing import cast

import streamlit as st

from dashboard import admin_views as view
from dashboard import auth, governance, page_text, red_flags, services
from dashboard.form_errors import GENERAL, error_messages, errors_by_field
from dashboard.page_context import page_context
from dashboard.page_keys import Admin as keys
from dashboard.ports import StrideError
from dashboard.safe_text import md_escape
from data import clinic_key, transfer
from data.store import SqlStore
from reports import i18n

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
# The router opens a SqlStore; export and import need its engine (for the clinic key and the copy).
store, user, settings = cast(SqlStore, ctx.store), ctx.user, ctx.settings

st.title("Admin")
if not auth.can(user.role, "manage_users"):
    st.error(view.NOT_AN_ADMIN)
    st.stop()

if flash := st.session_state.pop(keys.FLASH, None):
    st.success(flash)

try:
    users = services.list_users(store, user)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
by_id = {u.id: u for u in users}


def show_errors(errors: Mapping[str, str], *fields: str) -> None:
    """The messages for `fields` (those the service raised), each as an error under its box."""
    for field in fields:
        if field in errors:
            st.error(md_escape(errors[field]))


def create_account() -> None:
    # Form callback: runs before the page, so it may clear the fields after a successful create.
    state = st.session_state
    try:
        made = services.create_user(store, user, **view.new_account(state))
    except StrideError as exc:
        state[keys.CREATE_ERRORS] = errors_by_field(exc)
    else:
        state[keys.FLASH] = view.created(made)
        state[keys.NEW_USERNAME] = state[keys.NEW_DISPLAY_NAME] = ""
    state[keys.NEW_PASSWORD] = ""  # a password never stays in session state


def erase_patient(patient_id: str) -> None:
    # Form callback: runs before the page, so it may clear the fields after a successful erasure.
    state = st.session_state
    if not state.get(keys.ERASE_CONFIRM):
        state[keys.ERASE_ERRORS] = dict(view.NOT_CONFIRMED)
        return
    try:
        removed = governance.erase_patient(store, user, patient_id, **view.erasure_request(state))
    except StrideError as exc:
        state[keys.ERASE_ERRORS] = errors_by_field(exc)
    else:
        state[keys.ERASE_FLASH] = view.erased(removed)
        state[keys.ERASE_REF] = state[keys.ERASE_REQUEST_REF] = state[keys.ERASE_REASON] = ""
        state[keys.ERASE_CONFIRM] = False


def note_form(
    form_key: str, note_label: str, note_key: str, submit: str, record: Callable[[str], None], intro: str = ""
) -> None:
    """A form of one note that records a governance decision with it, then redraws the page."""
    with st.form(form_key):
        if intro:
            st.markdown(intro)
        note = st.text_input(note_label, key=note_key)
        if st.form_submit_button(submit):
            try:
                record(note)
            except StrideError as exc:
                st.error(md_escape(str(exc)))
            else:
                st.rerun()


def confirm(message: str) -> None:
    """Keep the confirmation for the next run and redraw the page with the change."""
    st.session_state[keys.FLASH] = message
    st.rerun()


users_tab, audit_tab, rules_tab, data_tab = st.tabs(["Users", "Audit trail", "Rules and licences", "Data"])

# --- users ---------------------------------------------------------------------------------------
with users_tab:
    st.dataframe(page_text.users_frame(users, settings.timezone), hide_index=True, key=keys.USERS_TABLE)

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("#### Add an account")
        errors = st.session_state.pop(keys.CREATE_ERRORS, {})
        with st.form(keys.CREATE_FORM):
            st.text_input("Username", key=keys.NEW_USERNAME, autocomplete="off")
            show_errors(errors, "username")
            st.text_input("Display name (shown to colleagues)", key=keys.NEW_DISPLAY_NAME)
            show_errors(errors, "display_name")
            st.selectbox("Role", list(auth.ROLES), key=keys.NEW_ROLE)
            show_errors(errors, "role")
            st.text_input(
                "Initial password",
                type="password",
                key=keys.NEW_PASSWORD,
                autocomplete="new-password",
                help=view.INITIAL_PASSWORD_HELP,
            )
            show_errors(errors, "password", GENERAL)
            st.form_submit_button("Create account", on_click=create_account, key=keys.CREATE_SUBMIT)

    with right:
        st.markdown("#### Manage an account")
        chosen = st.selectbox(
            "Account",
            list(by_id),
            index=None,
            format_func=lambda uid: view.account_label(by_id[uid]),
            placeholder="Choose an account",
            key=keys.PICK_USER,
        )
        if chosen is not None:
            target = by_id[chosen]
            own = target.id == user.id
            if own:
                st.caption(view.OWN_ACCOUNT)
            try:
                if target.active:
                    if st.button("Deactivate account", key=keys.DEACTIVATE, disabled=own, icon="⛔"):
                        services.admin_update_user(store, user, target.id, active=False)
                        confirm(view.activation_changed(target.username, active=False))
                elif st.button("Reactivate account", key=keys.REACTIVATE, icon="✅"):
                    services.admin_update_user(store, user, target.id, active=True)
                    confirm(view.activation_changed(target.username, active=True))
                c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
                role = c1.selectbox(
                    "Role", list(auth.ROLES), index=auth.ROLES.index(target.role), key=keys.ROLE, disabled=own
                )
                if c2.button("Save role", key=keys.SAVE_ROLE, disabled=own or role == target.role):
                    services.admin_update_user(store, user, target.id, role=role)
                    confirm(view.role_changed(target.username, role))
            except StrideError as exc:
                st.error(md_escape(str(exc)))

            with st.form(keys.RESET_FORM, clear_on_submit=True):
                st.markdown(f"Reset the password of **{md_escape(target.username)}**")
                typed = {field.name: st.text_input(**field.box()) for field in view.RESET_FIELDS}
                reset = st.form_submit_button("Reset password", key=keys.RESET_SUBMIT)
            if reset and typed["new"] != typed["repeat"]:
                st.error(view.RESET_NOT_THE_SAME)
            elif reset:
                try:
                    services.admin_update_user(store, user, target.id, new_password=typed["new"])
                except StrideError as exc:
                    for message in error_messages(exc):
                        st.error(md_escape(message))
                else:
                    confirm(view.password_reset(target.username))

# --- audit trail ---------------------------------------------------------------------------------
with audit_tab:
    first_day, last_day = view.default_audit_days(dt.date.today())
    c1, c2, c3 = st.columns(3)
    user_filter = c1.selectbox(
        "User",
        list(by_id),
        index=None,
        format_func=lambda uid: by_id[uid].username,
        placeholder="Any user",
        key=keys.AUDIT_USER,
    )
    patient_filter = c2.text_input(
        "Patient id", key=keys.AUDIT_PATIENT, placeholder="Any patient (opaque id)"
    )
    action_filter = c3.selectbox(
        "Action",
        list(page_text.AUDIT_ACTIONS),
        index=None,
        placeholder="Any action",
        accept_new_options=True,
        key=keys.AUDIT_ACTION,
    )
    c1, c2, _ = st.columns(3)
    since_day = c1.date_input("From", first_day, key=keys.AUDIT_FROM, format="YYYY-MM-DD")
    until_day = c2.date_input("To", last_day, key=keys.AUDIT_TO, format="YYYY-MM-DD")
    query = view.audit_query(
        user_filter,
        patient_filter,
        action_filter,
        days=(since_day, until_day),
        tz_name=settings.timezone,
        now=dt.datetime.now(dt.UTC),
    )
    if query is None:
        st.error(view.DATES_REVERSED)
    else:
        try:
            entries = services.audit_trail(store, user, **query.filters())
        except StrideError as exc:
            st.error(md_escape(str(exc)))
        else:
            usernames = {u.id: u.username for u in users}
            st.dataframe(
                page_text.audit_frame(entries, usernames, settings.timezone),
                hide_index=True,
                key=keys.AUDIT_TABLE,
            )
            st.caption(view.audit_caption(len(entries)))

    st.markdown("#### Integrity")
    st.caption(view.CHAIN_NOTE)
    if st.button("Verify chain", key=keys.VERIFY_CHAIN, icon="🔗"):
        intact, checked, broken = store.verify_audit()
        (st.success if intact else st.error)(view.chain_verdict(intact, checked, broken))

# --- rules ---------------------------------------------------------------------------------------
with rules_tab:
    version = red_flags.rule_set_version(settings.rules)
    st.markdown(f"Red-flag rule set version: **`{version}`**")
    approval = governance.rule_set_approval(store, version)
    if approval is None:
        st.warning(view.NOT_APPROVED)
        note_form(
            keys.APPROVE_FORM,
            "What you reviewed (kept with the approval)",
            keys.APPROVE_NOTE,
            "Approve this rule set",
            functools.partial(governance.approve_rule_set, store, user, version),
        )
    else:
        st.success(view.approval_line(approval))
    st.caption(view.RULES_NOTE)
    st.dataframe(view.rule_settings_rows(settings.rules), hide_index=True, key=keys.RULE_SETTINGS)
    with st.expander("The rule table", expanded=False):
        st.markdown(red_flags.rules_markdown(settings.rules))

    st.markdown("**Handout translations** (clinical-reference §14)")
    st.caption(view.TRANSLATIONS_NOTE)
    for tag in i18n.shipped_languages():
        found = i18n.catalogue(tag)
        if found is None:
            continue
        review = governance.translation_review(store, tag, found.version)
        label = view.translation_label(tag, found.version)
        if review is not None:
            st.success(view.reviewed_line(label, review))
            continue
        note_form(
            f"{keys.TRANSLATION_FORM}{tag}",
            "Who reviewed it and how (kept with the record)",
            f"{keys.TRANSLATION_NOTE}{tag}",
            "Record the review",
            functools.partial(governance.record_translation_review, store, user, tag, found.version),
            intro=view.awaiting_review_line(label),
        )

    st.subheader("Instrument licences")
    st.caption(view.LICENCES_NOTE)
    for key, name in governance.LICENSED_INSTRUMENTS.items():
        held = governance.licence(store, key)
        if held is not None:
            st.markdown(view.licence_line(name, held))
            continue
        note_form(
            f"{keys.LICENCE_FORM}{key}",
            f"{name}: licence reference or why its use is covered",
            f"{keys.LICENCE_BASIS}{key}",
            "Record licence",
            functools.partial(governance.record_licence, store, user, key),
        )
    st.subheader("Retention")
    years = governance.retention_years(store)
    new_years = st.number_input(
        "Retention period (years)",
        1,
        100,
        value=years or view.DEFAULT_RETENTION_YEARS,
        key=keys.RETENTION_YEARS,
    )
    if st.button("Save retention period", key=keys.RETENTION_SAVE):
        governance.set_retention_years(store, user, int(new_years))
        st.rerun()
    if years:
        due = governance.past_retention(store, user, dt.date.today())
        st.caption(view.retention_caption(len(due)))
        if due:
            st.dataframe(due, hide_index=True, key=keys.RETENTION_DUE)

with data_tab:
    st.subheader("Export the whole clinic")
    st.caption(view.export_caption(clinic_key.key_source(transfer.store_url(store))))
    with_hashes = st.checkbox("Include password hashes", key=keys.EXPORT_HASHES)

    def export_clicked() -> None:
        st.session_state[keys.EXPORT_CLICKED_AT] = time.monotonic()

    # The export is made at the click (outside the script): it exists in the server's media store
    # only from then until the sweep below, never in the session. This download does rerun the page,
    # through its callback, so that the sweep starts.
    st.download_button(
        data=view.export_at_click(
            functools.partial(services.require, store, user, "export_clinic"),
            functools.partial(
                transfer.export_clinic_bytes, store, include_password_hashes=with_hashes, actor=user
            ),
        ),
        **view.CLINIC_EXPORT.button(keys.EXPORT_DOWNLOAD, view.export_file_name(dt.date.today()))
        | {"on_click": export_clicked},
    )

    @st.fragment(run_every=view.EXPORT_SWEEP_S)
    def sweep_export() -> None:
        # Streamlit drops a generated download that no session refers to at the end of the second
        # script run after it was made (the first only marks it). These short fragment runs make those
        # runs happen within seconds of the click, whatever the admin does next; then they stop.
        if view.sweep_over(st.session_state.get(keys.EXPORT_CLICKED_AT, 0.0), time.monotonic()):
            st.session_state.pop(keys.EXPORT_CLICKED_AT, None)
            st.rerun()

    if keys.EXPORT_CLICKED_AT in st.session_state:
        sweep_export()

    st.subheader("Import into an empty clinic")
    st.caption(view.IMPORT_NOTE)
    upload = st.file_uploader("Stride export (.zip)", type=["zip"], key=keys.IMPORT_FILE)
    dry_run = st.checkbox("Dry run (check only)", value=True, key=keys.IMPORT_DRY_RUN)
    foreign = st.checkbox(
        "This archive comes from another clinic (or its signature does not match this clinic's key)",
        key=keys.IMPORT_FOREIGN,
    )
    if foreign:
        st.warning(view.FROM_ANOTHER_CLINIC, icon="⚠️")
    if upload is not None and st.button("Check" if dry_run else "Import", key=keys.IMPORT_RUN):
        bar = st.progress(0.0, text="Checking…")

        def show_progress(fraction: float) -> None:
            bar.progress(view.progress_fraction(fraction), text="Checking…")

        try:
            services.require(store, user, "import_clinic")
            with view.uploaded_archive(upload.getvalue()) as path:
                report = transfer.import_clinic(
                    store,
                    path,
                    dry_run=dry_run,
                    actor=user,
                    from_another_clinic=foreign,
                    progress=show_progress,
                )
        except Exception as exc:  # the report covers bad files; this is a refusal or the unexpected
            st.error(view.import_failure(exc))
        else:
            bar.progress(1.0, text="Done")
            (st.success if report.ok else st.error)(md_escape(report.summary()))
            if caption := view.signature_caption(report.signature, report.key_used):
                st.caption(caption)
            if report.errors:
                st.dataframe(view.import_error_rows(report.errors), hide_index=True, key=keys.IMPORT_ERRORS)
            for warning in report.warnings:
                st.warning(md_escape(warning))

    st.subheader("Erase a patient on request")
    st.caption(view.ERASURE_NOTE)
    if erased := st.session_state.pop(keys.ERASE_FLASH, None):
        st.success(erased)
    erase_ref = st.text_input(
        "Patient reference (exactly as recorded)", key=keys.ERASE_REF, autocomplete="off"
    )
    if erase_ref.strip():
        try:
            candidate = governance.find_for_erasure(store, user, erase_ref)
        except StrideError as exc:
            st.error(md_escape(str(exc)))
            candidate = None
        if candidate is None:
            st.info(view.NO_SUCH_REFERENCE)
        else:
            st.markdown(view.erasure_candidate(candidate.display_name, candidate.birth_date))
            erase_errors = st.session_state.pop(keys.ERASE_ERRORS, {})
            with st.form(keys.ERASE_FORM):
                st.text_input("Request reference", key=keys.ERASE_REQUEST_REF, help=view.REQUEST_REF_HELP)
                show_errors(erase_errors, "request_reference")
                st.text_input("Reason", key=keys.ERASE_REASON, help=view.REASON_HELP)
                show_errors(erase_errors, "reason")
                st.checkbox(view.erasure_confirmation(candidate.display_name), key=keys.ERASE_CONFIRM)
                show_errors(erase_errors, "confirm", GENERAL)
                st.form_submit_button(
                    "Erase patient",
                    type="primary",
                    icon="🗑️",
                    on_click=erase_patient,
                    args=(candidate.id or "",),
                    key=keys.ERASE_SUBMIT,
                )
