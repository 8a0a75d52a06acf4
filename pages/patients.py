import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import streamlit as st

from dashboard import checkin_services, invite_views, page_text, patient_views, services
from dashboard import page_keys as keys
from dashboard.models import Patient
from dashboard.page_context import page_context, remember_patient
from dashboard.ports import StrideError
from dashboard.visit_form import PATIENT_LABELS
from reports import invite_slip

K = keys.Patients
T = TypeVar("T")
# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings = ctx.store, ctx.user, ctx.settings
can_write = ctx.can("write_clinical")
# A new patient link is shown once: forgotten as soon as another patient (or none) is chosen.
if invite_views.link_for(st.session_state.get(K.NEW_LINK), ctx.patient_id) is None:
    st.session_state.pop(K.NEW_LINK, None)


def attempt(action: Callable[[], T], *, by_label: bool = False) -> T | None:
    """The service call's result; on a refusal, its messages (by the form's labels) and None."""
    try:
        return action()
    except StrideError as exc:
        for message in patient_views.refusal_messages(exc, by_label=by_label):
            st.error(message)
    return None


def patient_fields(form: str, current: dict[str, Any]) -> dict[str, Any]:
    """The add or edit form's fields, filled from `current`; what was entered, by field name."""
    first, last = page_text.ANY_DATE  # a wide calendar, not a limit: the server refuses a future date

    def date_field(col: Any, name: str) -> dt.date | None:
        label, key = PATIENT_LABELS[name], K.field(form, name)
        return col.date_input(label, current.get(name), first, last, key=key, format="YYYY-MM-DD")

    values = {
        name: col.text_input(PATIENT_LABELS[name], current.get(name, ""), key=K.field(form, name))
        for col, name in zip(st.columns(3), patient_views.NAME_FIELDS, strict=True)
    }
    c1, c2, c3 = st.columns(3)
    values["birth_date"] = date_field(c1, "birth_date")
    sex_key, language_key = K.field(form, "sex"), K.field(form, "language")
    values["sex"] = c2.selectbox(PATIENT_LABELS["sex"], **patient_views.sex_choice(current), key=sex_key)
    values["symptom_onset"] = date_field(c3, "symptom_onset")
    c1, c2 = st.columns(2)
    values["next_review_date"] = date_field(c1, "next_review_date")
    values["language"] = c2.selectbox(
        "Handout language", **patient_views.language_choice(current), key=language_key
    )
    st.markdown("**Risk history** (used by the red-flag rules)")
    for row in patient_views.RISK_ROWS:
        for col, (name, label) in zip(st.columns(2), row, strict=False):
            values[name] = col.checkbox(label, bool(current.get(name, False)), key=K.field(form, name))
    return values


def patient_links(patient: Patient) -> None:
    """Create a check-in or diary link, show a new one once (text, QR code, slip), list and revoke."""
    # Not an st.fragment: a fragment's rerun skips the router's login checks (a logout in another tab,
    # the idle timeout), and these buttons write to the record and show a token.
    st.markdown(f"#### {invite_views.SECTION_HEADING}")
    st.caption(invite_views.SECTION_CAPTION)
    pid, kinds = patient.saved_id, invite_views.CREATABLE
    if can_write:  # no empty row of columns for a role that may not create links
        for col, kind in zip(st.columns(len(kinds)), kinds, strict=True):
            create = partial(invite_views.create_link, store, user, pid, kind, settings)
            label, key = invite_views.CREATE_LABELS[kind], K.CREATE_LINK.format(kind)
            if col.button(label, key=key) and (new := attempt(create)):
                st.session_state[K.NEW_LINK] = new
    if shown := invite_views.link_for(st.session_state.get(K.NEW_LINK), pid):
        with st.container(border=True):
            st.markdown(f"**{invite_views.shown_heading(shown)}**")
            st.warning(invite_views.SHOWN_ONCE)
            st.code(shown.link, language=None, wrap_lines=True)
            st.caption(invite_views.ends_line(shown.expires_at, settings.timezone))
            title = invite_views.qr_title(shown.kind)
            st.image(invite_slip.qr_svg(shown.link, title=title), alt=title)
            slip = partial(invite_slip.render_slip, **invite_views.slip_content(shown, settings))
            file_name = invite_views.slip_file_name(shown, settings.timezone)
            c1, c2 = st.columns(2)
            c1.download_button(data=slip, **invite_views.SLIP_DOWNLOAD.button(K.LINK_SLIP, file_name))
            if c2.button(invite_views.DONE_LABEL, key=K.LINK_DONE, type="primary"):
                st.session_state.pop(K.NEW_LINK, None)
                st.rerun()
    if (invites := attempt(partial(checkin_services.patient_invites, store, user, pid))) is None:
        return
    rows = invite_views.link_rows(invites, dt.datetime.now(dt.UTC), settings.timezone, shown)
    if not rows:
        st.caption(invite_views.NO_LINKS)
    for row in rows:
        cols = st.columns([2, 4, 2, 2])
        cols[0].markdown(f"**{row.kind}**")
        cols[1].caption(row.times)
        cols[2].markdown(row.state)
        revoke = partial(checkin_services.revoke_invite, store, user, pid, row.invite_id)
        offered = can_write and row.can_revoke
        if (
            offered
            and cols[3].button("Revoke", key=K.REVOKE_LINK.format(row.invite_id))
            and attempt(revoke) is not None
        ):
            if row.is_shown:  # a revoked link is not handed out
                st.session_state.pop(K.NEW_LINK, None)
            st.rerun()


st.title("Patients")
st.caption("Find, add, edit, archive and restore patients. Only opaque ids appear in the address bar.")
query = st.text_input("Find by name or reference", key=K.SEARCH, placeholder="e.g. Zoe or DEMO-00012")
show_archived = st.toggle("Include archived patients", key=K.SHOW_ARCHIVED)
find = partial(services.find_patients, store, user, query, include_archived=show_archived)
found = attempt(find) if query else []
if query and found == []:
    st.info("No patient matches. Check the spelling, or add the patient below.")
for patient in found or []:
    c1, c2, c3 = st.columns([4, 2, 1])
    c1.markdown(patient_views.found_line(patient))
    c2.caption(patient_views.born_caption(patient))
    if c3.button("Open", key=K.OPEN.format(patient.id)):
        remember_patient(st.session_state, st.query_params, patient.saved_id)
        st.rerun()

if can_write:
    add_open = patient_views.add_form_expanded(query, st.session_state.get(keys.PATIENT_ID, ""))
    with st.expander("➕ Add a patient", expanded=add_open):
        with st.form(K.ADD_FORM, clear_on_submit=False):
            new_values = patient_fields(K.NEW, {})
            add = st.form_submit_button("Add patient", type="primary")
        register = partial(services.register_patient, store, user, new_values)
        if add and (created := attempt(register, by_label=True)):
            remember_patient(st.session_state, st.query_params, created.saved_id)
            st.success("Patient added.")
            st.rerun()

if not ctx.patient_id:
    st.info("Find a patient above, or pick one from the caseload.")
    st.stop()
if (record := attempt(partial(services.open_patient, store, user, ctx.patient_id))) is None:
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
for visit_id, when, pain, walking in patient_views.visit_rows(record.visits):
    cols = st.columns([2, 2, 3, 1])
    cols[0].markdown(when)
    cols[1].caption(pain)
    cols[2].caption(walking)
    if can_write and cols[3].button("Correct", key=K.CORRECT.format(visit_id)):
        st.session_state[keys.CORRECT_VISIT_ID] = visit_id
        st.switch_page("pages/visit.py")

patient_links(patient)

if can_write:
    with st.expander("✏️ Edit patient details"):
        with st.form(K.EDIT_FORM):
            edited = patient_fields(K.EDIT, patient.model_dump())
            reason = st.text_input("Reason for the change (kept in the history)", key=K.EDIT_REASON)
            save = st.form_submit_button("Save changes")
        update = partial(services.update_patient, store, user, patient.saved_id, edited, settings=settings)
        update = partial(update, expected_version=patient.version, reason=reason)
        if save and attempt(update, by_label=True) is not None:
            st.success("Saved. The earlier values are kept in the history.")
            st.rerun()
    with st.expander("🗄️ Archive or restore"):
        archive_reason = st.text_input("Reason", key=K.ARCHIVE_REASON)
        archive = st.button(patient_views.archive_label(patient), key=K.ARCHIVE_TOGGLE)
        set_archived = partial(services.set_patient_archived, store, user, patient.saved_id)
        set_archived = partial(set_archived, archived=not patient.archived, reason=archive_reason)
        if archive and attempt(set_archived) is not None:
            st.rerun()

if history := attempt(partial(services.patient_history, store, user, patient.saved_id)):
    with st.expander(patient_views.history_label(history)):
        for line, change in patient_views.history_entries(history):
            st.markdown(line)
            st.json(change, expanded=False)
