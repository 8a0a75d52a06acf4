"""Admin · Erasure: erase one patient's clinical record on a granted request, after confirming."""

import functools

import streamlit as st

from dashboard import admin_views as view
from dashboard import governance
from dashboard.form_errors import GENERAL
from dashboard.page_context import page_context
from dashboard.page_keys import Admin as keys
from dashboard.ports import StrideError
from dashboard.safe_text import md_escape

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate. An account that is
# no admin goes there too: the router offers it only its own pages.
if (ctx := view.for_admins(page_context(st.session_state, st.query_params))) is None:
    st.switch_page("app.py")
    st.stop()
store, user = ctx.store, ctx.user

st.title("Erase a patient on request")

st.caption(view.ERASURE_NOTE)
if erased := st.session_state.pop(keys.ERASE_FLASH, None):
    st.success(erased)
erase_ref = st.text_input("Patient reference (exactly as recorded)", key=keys.ERASE_REF, autocomplete="off")
if not erase_ref.strip():
    st.stop()
try:
    candidate = governance.find_for_erasure(store, user, erase_ref)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    candidate = None
if candidate is None:
    st.info(view.NO_SUCH_REFERENCE)
    st.stop()

st.markdown(view.erasure_candidate(candidate.display_name, candidate.birth_date))
errors = st.session_state.pop(keys.ERASE_ERRORS, {})
with st.form(keys.ERASE_FORM):
    st.text_input("Request reference", key=keys.ERASE_REQUEST_REF, help=view.REQUEST_REF_HELP)
    for message in view.field_errors(errors, "request_reference"):
        st.error(message)
    st.text_input("Reason", key=keys.ERASE_REASON, help=view.REASON_HELP)
    for message in view.field_errors(errors, "reason"):
        st.error(message)
    st.checkbox(view.erasure_confirmation(candidate.display_name), key=keys.ERASE_CONFIRM)
    for message in view.field_errors(errors, "confirm", GENERAL):
        st.error(message)
    st.form_submit_button(
        "Erase patient",
        type="primary",
        icon="🗑️",
        on_click=view.submit_erasure,
        args=(st.session_state, functools.partial(governance.erase_patient, store, user, candidate.id or "")),
        key=keys.ERASE_SUBMIT,
    )
