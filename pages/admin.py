import dataclasses
import datetime as dt
import logging
import tempfile
import time
from pathlib import Path

import streamlit as st

from dashboard import auth, governance, page_text, red_flags, services
from dashboard.config import Settings
from dashboard.languages import language_label
from dashboard.ports import InvalidInputError, StrideError, User
from dashboard.safe_text import md_escape
from data import clinic_key, transfer
from data.store import SqlStore
from reports import i18n

_log = logging.getLogger("stride.admin")
# After a clinic export is downloaded, short fragment runs every EXPORT_SWEEP_S seconds for
# EXPORT_SWEEP_FOR_S seconds let Streamlit delete the generated file (see sweep_export below).
EXPORT_SWEEP_S = 2.0
EXPORT_SWEEP_FOR_S = 20.0

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

store: SqlStore = st.session_state["store"]
user: User = st.session_state["user"]
settings: Settings = st.session_state["settings"]

st.title("Admin")
if not auth.can(user.role, "manage_users"):
    st.error("This page is for administrators: your role may not manage accounts or read the audit trail.")
    st.stop()

flash = st.session_state.pop("admin_flash", None)
if flash:
    st.success(flash)

try:
    users = services.list_users(store, user)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
by_id = {u.id: u for u in users}


def create_account() -> None:
    # Form callback: runs before the page, so it may clear the fields after a successful create.
    state = st.session_state
    try:
        created = services.create_user(
            store,
            user,
            username=state.get("admin_new_username", ""),
            display_name=state.get("admin_new_display_name", ""),
            role=state.get("admin_new_role") or "",
            password=state.get("admin_new_password", ""),
        )
    except InvalidInputError as exc:
        state["admin_create_errors"] = exc.errors
    except StrideError as exc:
        state["admin_create_errors"] = {"_": str(exc)}
    else:
        state["admin_flash"] = f"Account {md_escape(created.username)} ({md_escape(created.role)}) created."
        state["admin_new_username"] = ""
        state["admin_new_display_name"] = ""
    state["admin_new_password"] = ""  # a password never stays in session state


def erase_patient(patient_id: str) -> None:
    # Form callback: runs before the page, so it may clear the fields after a successful erasure.
    state = st.session_state
    if not state.get("erase_confirm"):
        state["erase_errors"] = {"confirm": "Tick the box to confirm the erasure."}
        return
    try:
        removed = governance.erase_patient(
            store,
            user,
            patient_id,
            reason=state.get("erase_reason", ""),
            request_reference=state.get("erase_request_ref", ""),
        )
    except InvalidInputError as exc:
        state["erase_errors"] = exc.errors
    except StrideError as exc:
        state["erase_errors"] = {"_": str(exc)}
    else:
        state["erase_flash"] = (
            f"The patient was erased: {removed['visits']} visit(s) and their screenings, "
            f"flags, handouts and revisions deleted; {removed['audit_redacted']} audit entries keep "
            "when, who and what without their details. The erasure itself is in the audit trail."
        )
        for key in ("erase_ref", "erase_request_ref", "erase_reason"):
            state[key] = ""
        state["erase_confirm"] = False


users_tab, audit_tab, rules_tab, data_tab = st.tabs(["Users", "Audit trail", "Rules and licences", "Data"])

# --- users ---------------------------------------------------------------------------------------
with users_tab:
    st.dataframe(page_text.users_frame(users, settings.timezone), hide_index=True, key="admin_users_table")

    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("#### Add an account")
        errors = st.session_state.pop("admin_create_errors", {})
        with st.form("admin_create_user"):
            st.text_input("Username", key="admin_new_username", autocomplete="off")
            if "username" in errors:
                st.error(md_escape(errors["username"]))
            st.text_input("Display name (shown to colleagues)", key="admin_new_display_name")
            if "display_name" in errors:
                st.error(md_escape(errors["display_name"]))
            st.selectbox("Role", list(auth.ROLES), key="admin_new_role")
            if "role" in errors:
                st.error(md_escape(errors["role"]))
            st.text_input(
                "Initial password",
                type="password",
                key="admin_new_password",
                autocomplete="new-password",
                help=f"At least {auth.MIN_PASSWORD_LENGTH} characters, not containing the username.",
            )
            if "password" in errors:
                st.error(md_escape(errors["password"]))
            if "_" in errors:
                st.error(md_escape(errors["_"]))
            st.form_submit_button("Create account", on_click=create_account, key="admin_create_submit")

    with right:
        st.markdown("#### Manage an account")
        chosen = st.selectbox(
            "Account",
            list(by_id),
            index=None,
            format_func=lambda uid: (
                f"{by_id[uid].username} · {by_id[uid].display_name} · {by_id[uid].role}"
                + ("" if by_id[uid].active else " · deactivated")
            ),
            placeholder="Choose an account",
            key="admin_pick_user",
        )
        if chosen is not None:
            target = by_id[chosen]
            own = target.id == user.id
            if own:
                st.caption("This is your own account: you cannot deactivate it or change its role here.")
            try:
                if target.active:
                    if st.button("Deactivate account", key="admin_deactivate", disabled=own, icon="⛔"):
                        services.admin_update_user(store, user, target.id, active=False)
                        st.session_state["admin_flash"] = f"Account {md_escape(target.username)} deactivated."
                        st.rerun()
                elif st.button("Reactivate account", key="admin_reactivate", icon="✅"):
                    services.admin_update_user(store, user, target.id, active=True)
                    st.session_state["admin_flash"] = f"Account {md_escape(target.username)} reactivated."
                    st.rerun()
                c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
                role = c1.selectbox(
                    "Role",
                    list(auth.ROLES),
                    index=auth.ROLES.index(target.role),
                    key="admin_role",
                    disabled=own,
                )
                if c2.button("Save role", key="admin_save_role", disabled=own or role == target.role):
                    services.admin_update_user(store, user, target.id, role=role)
                    st.session_state["admin_flash"] = f"Account {md_escape(target.username)} is now {role}."
                    st.rerun()
            except StrideError as exc:
                st.error(md_escape(str(exc)))

            with st.form("admin_reset_password", clear_on_submit=True):
                st.markdown(f"Reset the password of **{md_escape(target.username)}**")
                new = st.text_input(
                    "New password", type="password", key="admin_reset_new", autocomplete="new-password"
                )
                repeat = st.text_input(
                    "Repeat the new password",
                    type="password",
                    key="admin_reset_repeat",
                    autocomplete="new-password",
                )
                reset = st.form_submit_button("Reset password", key="admin_reset_submit")
            if reset:
                if new != repeat:
                    st.error("The two passwords are not the same.")
                else:
                    try:
                        services.admin_update_user(store, user, target.id, new_password=new)
                    except InvalidInputError as exc:
                        for message in exc.errors.values():
                            st.error(md_escape(message))
                    except StrideError as exc:
                        st.error(md_escape(str(exc)))
                    else:
                        st.session_state["admin_flash"] = (
                            f"Password of {md_escape(target.username)} reset: their open sessions end, and "
                            "they choose a new password at their next login. Any login delay on the account "
                            "was cleared."
                        )
                        st.rerun()

# --- audit trail ---------------------------------------------------------------------------------
with audit_tab:
    today = dt.date.today()
    c1, c2, c3 = st.columns(3)
    user_filter = c1.selectbox(
        "User",
        list(by_id),
        index=None,
        format_func=lambda uid: by_id[uid].username,
        placeholder="Any user",
        key="admin_audit_user",
    )
    patient_filter = c2.text_input(
        "Patient id", key="admin_audit_patient", placeholder="Any patient (opaque id)"
    )
    action_filter = c3.selectbox(
        "Action",
        list(page_text.AUDIT_ACTIONS),
        index=None,
        placeholder="Any action",
        accept_new_options=True,
        key="admin_audit_action",
    )
    c1, c2, _ = st.columns(3)
    since_day = c1.date_input(
        "From", today - dt.timedelta(days=30), key="admin_audit_from", format="YYYY-MM-DD"
    )
    until_day = c2.date_input("To", today, key="admin_audit_to", format="YYYY-MM-DD")
    if since_day > until_day:
        st.error("The start date is after the end date.")
    else:
        zone = page_text.local_datetime(dt.datetime.now(dt.UTC), settings.timezone).tzinfo
        try:
            entries = services.audit_trail(
                store,
                user,
                user_id=user_filter,
                patient_id=patient_filter.strip() or None,
                action=action_filter or None,
                since=dt.datetime.combine(since_day, dt.time.min, tzinfo=zone).astimezone(dt.UTC),
                until=dt.datetime.combine(
                    until_day + dt.timedelta(days=1), dt.time.min, tzinfo=zone
                ).astimezone(dt.UTC),
            )
        except StrideError as exc:
            st.error(md_escape(str(exc)))
        else:
            usernames = {u.id: u.username for u in users}
            st.dataframe(
                page_text.audit_frame(entries, usernames, settings.timezone),
                hide_index=True,
                key="admin_audit_table",
            )
            st.caption(f"{len(entries)} entries, newest first (at most 500 are shown: narrow the filters).")

    st.markdown("#### Integrity")
    st.caption(
        "Each audit entry carries a hash of the one before it: an edited or deleted entry breaks the chain."
    )
    if st.button("Verify chain", key="admin_verify_chain", icon="🔗"):
        intact, checked, broken = store.verify_audit()
        if intact:
            st.success(f"Audit chain intact: {checked} entries checked.")
        else:
            st.error(
                f"Audit chain broken at entry {broken} ({checked} entries checked). "
                "Entries from there on may have been changed: keep a copy of the database and investigate."
            )

# --- rules ---------------------------------------------------------------------------------------
with rules_tab:
    version = red_flags.rule_set_version(settings.rules)
    st.markdown(f"Red-flag rule set version: **`{version}`**")
    approval = governance.rule_set_approval(store, version)
    if approval is None:
        st.warning("⚠️ Not yet approved by this clinic. Screenings made with it carry a notice.")
        with st.form("approve_rules"):
            note = st.text_input("What you reviewed (kept with the approval)", key="approve_note")
            if st.form_submit_button("Approve this rule set"):
                try:
                    governance.approve_rule_set(store, user, version, note)
                except StrideError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    st.rerun()
    else:
        st.success(
            f"✅ Approved by {md_escape(approval.by_name)} on {approval.at:%Y-%m-%d %H:%M} UTC: "
            f"{md_escape(approval.note)}"
        )
    st.caption(
        "A hash of the rule table and the clinic's settings. Each stored screening keeps its version, "
        "so past results stay explainable after the rules change."
    )
    st.dataframe(
        [
            {"Setting": k.replace("_", " "), "Value": str(v)}
            for k, v in dataclasses.asdict(settings.rules).items()
        ],
        hide_index=True,
        key="admin_rule_settings",
    )
    with st.expander("The rule table", expanded=False):
        st.markdown(red_flags.rules_markdown(settings.rules))

    st.markdown("**Handout translations** (clinical-reference §14)")
    st.caption(
        "Until a clinician has reviewed a translation, its handouts say so on every page and print the "
        "English safety net in full. A changed catalogue is a new version and needs a new review."
    )
    for tag in i18n.shipped_languages():
        found = i18n.catalogue(tag)
        if found is None:
            continue
        review = governance.translation_review(store, tag, found.version)
        label = f"{language_label(tag)} · catalogue `{found.version}`"
        if review is not None:
            st.success(
                f"✅ {md_escape(label)}: reviewed, recorded by {md_escape(review.by_name)} on "
                f"{review.at:%Y-%m-%d} UTC: {md_escape(review.note)}"
            )
            continue
        with st.form(f"review_translation_{tag}"):
            st.markdown(f"⚠️ {md_escape(label)}: awaiting clinical review")
            note = st.text_input(
                "Who reviewed it and how (kept with the record)", key=f"translation_note_{tag}"
            )
            if st.form_submit_button("Record the review"):
                try:
                    governance.record_translation_review(store, user, tag, found.version, note)
                except StrideError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    st.rerun()

    st.subheader("Instrument licences")
    st.caption(
        "ODI, RMDQ, ZCQ and STarT Back stay off until the clinic's licence (or cover) is recorded here."
    )
    for key, name in governance.LICENSED_INSTRUMENTS.items():
        held = governance.licence(store, key)
        if held is not None:
            st.markdown(
                f"✅ **{name}**: {md_escape(held.note)} "
                f"(recorded by {md_escape(held.by_name)}, {held.at:%Y-%m-%d})"
            )
            continue
        with st.form(f"licence_{key}"):
            basis = st.text_input(
                f"{name}: licence reference or why its use is covered", key=f"licence_basis_{key}"
            )
            if st.form_submit_button("Record licence"):
                try:
                    governance.record_licence(store, user, key, basis)
                except StrideError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    st.rerun()
    st.subheader("Retention")
    years = governance.retention_years(store)
    new_years = st.number_input("Retention period (years)", 1, 100, value=years or 8, key="retention_years")
    if st.button("Save retention period", key="retention_save"):
        governance.set_retention_years(store, user, int(new_years))
        st.rerun()
    if years:
        due = governance.past_retention(store, user, dt.date.today())
        st.caption(f"{len(due)} record(s) past the retention period, listed for review; nothing is deleted.")
        if due:
            st.dataframe(due, hide_index=True, key="retention_due")

with data_tab:
    st.subheader("Export the whole clinic")
    key_source = clinic_key.key_source(transfer.store_url(store))
    st.caption(
        "A zip of JSON and CSV files with a manifest of SHA-256 checksums, signed with this clinic's key "
        f"({md_escape(key_source)}). Password hashes only if asked. A restore into a new "
        "database imports as this clinic's own only where the same key is available: keep a copy of the "
        "key apart from the exports."
    )
    with_hashes = st.checkbox("Include password hashes", key="export_hashes")
    actor = user

    def make_export() -> bytes:
        # Runs at the click, outside the script (Streamlit commands are ignored here): the file exists
        # in the server's media store only from now until the cleanup below, never for the session.
        try:
            services.require(store, actor, "export_clinic")  # at the click: a revoked admin is refused
            return transfer.export_clinic_bytes(store, include_password_hashes=with_hashes, actor=actor)
        except Exception as exc:
            _log.error("clinic export failed (%s)", type(exc).__name__)
            raise RuntimeError("the clinic export failed") from None

    def export_clicked() -> None:
        st.session_state["export_clicked_at"] = time.monotonic()

    st.download_button(
        "Export and download",
        make_export,
        file_name=f"stride-export-{dt.date.today():%Y%m%d}.zip",
        mime="application/zip",
        key="export_download",
        on_click=export_clicked,
        icon="📦",
    )

    @st.fragment(run_every=EXPORT_SWEEP_S)
    def sweep_export() -> None:
        # Streamlit drops a generated download that no session refers to at the end of the second
        # script run after it was made (the first only marks it). These short fragment runs make those
        # runs happen within seconds of the click, whatever the admin does next; then they stop.
        if time.monotonic() - st.session_state.get("export_clicked_at", 0.0) > EXPORT_SWEEP_FOR_S:
            st.session_state.pop("export_clicked_at", None)
            st.rerun()

    if "export_clicked_at" in st.session_state:
        sweep_export()

    st.subheader("Import into an empty clinic")
    st.caption("Run a dry run first: it lists every bad row (file, row, field, message) and writes nothing.")
    upload = st.file_uploader("Stride export (.zip)", type=["zip"], key="import_file")
    dry_run = st.checkbox("Dry run (check only)", value=True, key="import_dry_run")
    foreign = st.checkbox(
        "This archive comes from another clinic (or its signature does not match this clinic's key)",
        key="import_from_another_clinic",
    )
    if foreign:
        st.warning(
            "An archive from another clinic is taken as it is, without the proof that it was not edited "
            "after the export: check where it came from. The import is recorded in the audit trail as "
            "from another clinic; no password hash and no demo flag is taken over, so every imported "
            "account needs a new password from an admin before anyone can log in with it.",
            icon="⚠️",
        )
    if upload is not None and st.button("Check" if dry_run else "Import", key="import_run"):
        bar = st.progress(0.0, text="Checking…")

        def show_progress(fraction: float) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text="Checking…")

        path = Path(tempfile.mkdtemp()) / "upload.zip"
        path.write_bytes(upload.getvalue())
        try:
            services.require(store, user, "import_clinic")
            report = transfer.import_clinic(
                store,
                path,
                dry_run=dry_run,
                actor=user,
                from_another_clinic=foreign,
                progress=show_progress,
            )
        except StrideError as exc:  # the permission (revoked since the page was drawn)
            st.error(md_escape(str(exc)))
        except Exception as exc:  # the report covers bad files; this is for the unexpected
            st.error(f"The import stopped ({type(exc).__name__}); nothing was written.")
        else:
            bar.progress(1.0, text="Done")
            (st.success if report.ok else st.error)(md_escape(report.summary()))
            if report.signature:
                st.caption(
                    md_escape(
                        f"Signature: {report.signature or 'not checked'}. Clinic key: {report.key_used}."
                    )
                )
            if report.errors:
                st.dataframe(
                    [
                        {"file": e.file, "row": e.row, "field": e.field, "message": e.message}
                        for e in report.errors
                    ],
                    hide_index=True,
                    key="import_errors",
                )
            for warning in report.warnings:
                st.warning(md_escape(warning))
        finally:
            path.unlink(missing_ok=True)
            path.parent.rmdir()

    st.subheader("Erase a patient on request")
    st.caption(
        "For a granted erasure request only. The patient's visits, screenings, flags, handouts and "
        "revisions are deleted and the patient becomes an “Erased record”; audit entries keep when, who "
        "and what, without the details. This cannot be undone, and backups or exports made earlier still "
        "hold the data."
    )
    if erased := st.session_state.pop("erase_flash", None):
        st.success(erased)
    erase_ref = st.text_input("Patient reference (exactly as recorded)", key="erase_ref", autocomplete="off")
    if erase_ref.strip():
        try:
            candidate = governance.find_for_erasure(store, user, erase_ref)
        except StrideError as exc:
            st.error(md_escape(str(exc)))
            candidate = None
        if candidate is None:
            st.info("No patient has this reference (erased records are not listed).")
        else:
            name = candidate.display_name
            st.markdown(
                f"**{md_escape(name)}**, born {candidate.birth_date:%Y-%m-%d}: check this is "
                "the person who asked."
            )
            erase_errors = st.session_state.pop("erase_errors", {})
            with st.form("erase_patient_form"):
                st.text_input(
                    "Request reference",
                    key="erase_request_ref",
                    help="The ticket or letter number of the request; no names (it is kept after erasure).",
                )
                if "request_reference" in erase_errors:
                    st.error(md_escape(erase_errors["request_reference"]))
                st.text_input(
                    "Reason",
                    key="erase_reason",
                    help="The basis for the erasure; no patient details (it is kept in the audit trail).",
                )
                if "reason" in erase_errors:
                    st.error(md_escape(erase_errors["reason"]))
                st.checkbox(
                    f"I confirm that the clinical record of {md_escape(name)} is to be erased; "
                    "this cannot be undone.",
                    key="erase_confirm",
                )
                if "confirm" in erase_errors:
                    st.error(md_escape(erase_errors["confirm"]))
                if "_" in erase_errors:
                    st.error(md_escape(erase_errors["_"]))
                st.form_submit_button(
                    "Erase patient",
                    type="primary",
                    icon="🗑️",
                    on_click=erase_patient,
                    args=(candidate.id or "",),
                    key="erase_submit",
                )
