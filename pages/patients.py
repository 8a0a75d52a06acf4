import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import auth, checkin_services, invite_views, page_text, patient_views, services
from dashboard import page_keys as keys
from dashboard.languages import language_label
from dashboard.models import RISK_FIELDS, Patient
from dashboard.page_context import page_context, remember_patient
from dashboard.ports import InvalidInputError, StrideError
from dashboard.safe_text import md_escape
from dashboard.visit_form import PATIENT_LABELS
from reports import invite_slip

K = keys.Patients
# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings = ctx.store, ctx.user, ctx.settings
can_write = auth.can(user.role, "write_clinical")
# A new patient link is shown once: forgotten as soon as another patient (or none) is chosen.
if invite_views.link_for(st.session_state.get(K.NEW_LINK), ctx.patient_id) is None:
    st.session_state.pop(K.NEW_LINK, None)


def attempt(action: Callable[[], Patient]) -> Patient | None:
    """Run one service call on a patient's record and give the record it returns; on a refusal show
    its messages, each field's by its label, and give None."""
    try:
        return action()
    except InvalidInputError as exc:
        for message in patient_views.field_errors(exc.errors):
            st.error(message)
    except StrideError as exc:
        st.error(md_escape(str(exc)))
    return None


def patient_fields(form: str, current: dict[str, Any] | None = None) -> dict[str, Any]:
    current = current or {}

    def date_field(col: DeltaGenerator, name: str) -> dt.date | None:
        # A wide calendar, not a limit: a future date reaches the server and is refused there (issue 19).
        first, last = page_text.ANY_DATE
        key = K.field(form, name)
        return col.date_input(
            PATIENT_LABELS[name], current.get(name), first, last, key=key, format="YYYY-MM-DD"
        )

    values: dict[str, Any] = {
        name: col.text_input(PATIENT_LABELS[name], current.get(name, ""), key=K.field(form, name))
        for col, name in zip(st.columns(3), ("patient_ref", "given_name", "family_name"), strict=True)
    }
    c1, c2, c3 = st.columns(3)
    values["birth_date"] = date_field(c1, "birth_date")
    values["sex"] = c2.selectbox(
        PATIENT_LABELS["sex"],
        list(patient_views.SEX),
        index=patient_views.sex_index(current),
        format_func=patient_views.SEX.__getitem__,
        key=K.field(form, "sex"),
        placeholder="Choose",
    )
    values["symptom_onset"] = date_field(c3, "symptom_onset")
    c1, c2 = st.columns(2)
    values["next_review_date"] = date_field(c1, "next_review_date")
    tags, index = patient_views.language_choices(current)
    values["language"] = c2.selectbox(
        "Handout language", tags, index=index, format_func=language_label, key=K.field(form, "language")
    )
    st.markdown("**Risk history** (used by the red-flag rules)")
    # Two a row, filled row by row: three a row cut the longer labels short, and the focus order
    # follows the reading order.
    for start in range(0, len(RISK_FIELDS), 2):
        for col, name in zip(st.columns(2), RISK_FIELDS[start : start + 2], strict=False):
            label = patient_views.RISK_LABELS[name]
            values[name] = col.checkbox(label, bool(current.get(name, False)), key=K.field(form, name))
    return values


st.title("Patients")
st.caption("Find, add, edit, archive and restore patients. Only opaque ids appear in the address bar.")

query = st.text_input("Find by name or reference", key=K.SEARCH, placeholder="e.g. Zoe or DEMO-00012")
show_archived = st.toggle("Include archived patients", key=K.SHOW_ARCHIVED)
try:
    found: list[Patient] | None = (
        services.find_patients(store, user, query, include_archived=show_archived) if query else []
    )
except InvalidInputError as exc:
    st.error(md_escape(" ".join(exc.errors.values())))
    found = None
except StrideError as exc:
    st.error(md_escape(str(exc)))
    found = None
if query and found == []:
    st.info("No patient matches. Check the spelling, or add the patient below.")
for patient in found or []:
    c1, c2, c3 = st.columns([4, 2, 1])
    c1.markdown(patient_views.found_line(patient))
    c2.caption(f"born {patient.birth_date:%Y-%m-%d}")
    if c3.button("Open", key=K.OPEN.format(patient.id)):
        remember_patient(st.session_state, st.query_params, patient.saved_id)
        st.rerun()

if can_write:
    with st.expander("➕ Add a patient", expanded=not query and not st.session_state.get(keys.PATIENT_ID)):
        with st.form(K.ADD_FORM, clear_on_submit=False):
            new_values = patient_fields(K.NEW)
            add = st.form_submit_button("Add patient", type="primary")
        if add and (created := attempt(lambda: services.register_patient(store, user, new_values))):
            remember_patient(st.session_state, st.query_params, created.saved_id)
            st.success("Patient added.")
            st.rerun()

if not ctx.patient_id:
    st.info("Find a patient above, or pick one from the caseload.")
    st.stop()
try:
    record = services.open_patient(store, user, ctx.patient_id)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()

patient = record.patient
st.divider()
st.subheader(patient_views.heading(patient))
st.caption(patient_views.summary_caption(patient, dt.date.today()))
st.markdown(patient_views.risk_history(patient))

c1, c2, c3 = st.columns(3)
c1.page_link("pages/visit.py", label="Record a visit", icon="📝")
c2.page_link("pages/progress.py", label="Progress", icon="📈")
c3.page_link("pages/plan.py", label="Plan & handout", icon="📄")

st.markdown("#### Visits")
if not record.visits:
    st.info("No visits recorded yet. Record the first visit to see scores, trends and red-flag screening.")
for visit in reversed(record.visits):
    cols = st.columns([2, 2, 3, 1])
    when, pain, walking = patient_views.visit_cells(visit)
    cols[0].markdown(when)
    cols[1].caption(pain)
    cols[2].caption(walking)
    if can_write and cols[3].button("Correct", key=K.CORRECT.format(visit.id)):
        st.session_state[keys.CORRECT_VISIT_ID] = visit.id
        st.switch_page("pages/visit.py")


def patient_links(patient: Patient) -> None:
    """Create a check-in or diary link, show a new one once (text, QR code, slip), list and revoke."""
    st.markdown(f"#### {invite_views.SECTION_HEADING}")
    st.caption(invite_views.SECTION_CAPTION)
    if can_write:
        for col, kind in zip(st.columns(len(invite_views.CREATABLE)), invite_views.CREATABLE, strict=True):
            if col.button(invite_views.CREATE_LABELS[kind], key=K.CREATE_LINK.format(kind)):
                try:
                    issued = checkin_services.create_invite(
                        store, user, patient.saved_id, kind, settings=settings
                    )
                except InvalidInputError as exc:
                    st.error(md_escape(" ".join(exc.errors.values())))
                except StrideError as exc:
                    st.error(md_escape(str(exc)))
                else:
                    st.session_state[K.NEW_LINK] = invite_views.shown_link(
                        issued.invite, issued.token, settings.public_url
                    )
    if shown := invite_views.link_for(st.session_state.get(K.NEW_LINK), patient.saved_id):
        with st.container(border=True):
            st.markdown(f"**{invite_views.shown_heading(shown)}**")
            st.warning(invite_views.SHOWN_ONCE)
            st.code(shown.link, language=None, wrap_lines=True)
            st.caption(invite_views.ends_line(shown.expires_at, settings.timezone))
            svg = invite_slip.qr_svg(shown.link, title=invite_views.qr_title(shown.kind))
            st.image(svg, alt=invite_views.qr_title(shown.kind))
            content = invite_views.slip_content(shown, settings)
            c1, c2 = st.columns(2)
            c1.download_button(
                data=lambda: invite_slip.render_slip(**content),
                **invite_views.SLIP_DOWNLOAD.button(
                    K.LINK_SLIP, invite_views.slip_file_name(shown, settings.timezone)
                ),
            )
            if c2.button(invite_views.DONE_LABEL, key=K.LINK_DONE, type="primary"):
                st.session_state.pop(K.NEW_LINK, None)
                st.rerun()
    try:
        invites = checkin_services.patient_invites(store, user, patient.saved_id)
    except StrideError as exc:
        st.error(md_escape(str(exc)))
        return
    rows = invite_views.link_rows(invites, dt.datetime.now(dt.UTC), settings.timezone)
    if not rows:
        st.caption(invite_views.NO_LINKS)
    for row in rows:
        cols = st.columns([2, 4, 2, 2])
        cols[0].markdown(f"**{row.kind}**")
        cols[1].caption(row.times)
        cols[2].markdown(row.state)
        if can_write and row.can_revoke and cols[3].button("Revoke", key=K.REVOKE_LINK.format(row.invite_id)):
            try:
                checkin_services.revoke_invite(store, user, patient.saved_id, row.invite_id)
            except StrideError as exc:
                st.error(md_escape(str(exc)))
            else:
                if shown and shown.invite_id == row.invite_id:  # a revoked link is not handed out
                    st.session_state.pop(K.NEW_LINK, None)
                st.rerun()


patient_links(patient)

if can_write:
    with st.expander("✏️ Edit patient details"):
        with st.form(K.EDIT_FORM):
            edited = patient_fields(K.EDIT, patient.model_dump())
            reason = st.text_input("Reason for the change (kept in the history)", key=K.EDIT_REASON)
            save = st.form_submit_button("Save changes")
        if save and attempt(
            lambda: services.update_patient(
                store,
                user,
                patient.saved_id,
                edited,
                expected_version=patient.version,
                reason=reason,
                settings=settings,
            )
        ):
            st.success("Saved. The earlier values are kept in the history.")
            st.rerun()
    with st.expander("🗄️ Archive or restore"):
        archive_reason = st.text_input("Reason", key=K.ARCHIVE_REASON)
        archive = st.button(patient_views.archive_label(patient), key=K.ARCHIVE_TOGGLE)
        if archive and attempt(
            lambda: services.set_patient_archived(
                store, user, patient.saved_id, archived=not patient.archived, reason=archive_reason
            )
        ):
            st.rerun()

history = services.patient_history(store, user, patient.saved_id)
if history:
    with st.expander(f"🕘 History of changes ({len(history)})"):
        for rev in reversed(history):
            st.markdown(patient_views.revision_line(rev))
            st.json({"before": rev.before, "after": rev.after}, expanded=False)
