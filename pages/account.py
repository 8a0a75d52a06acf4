"""My account: who is signed in, in which role, and changing one's own password."""

import streamlit as st

from dashboard import account_views as view
from dashboard import services, web_sessions
from dashboard.form_errors import GENERAL
from dashboard.page_context import page_context
from dashboard.page_keys import USER
from dashboard.page_keys import Account as keys
from dashboard.ports import StrideError
from dashboard.safe_text import md_escape

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user = ctx.store, ctx.user

st.title("My account")
st.markdown(view.account_heading(user))
st.caption(view.ROLE_WORDS.get(user.role, ""))

if flash := st.session_state.pop(keys.FLASH, None):
    st.success(flash)

st.subheader("Change your password")
form_column, _ = st.columns([1, 1])
values: dict[str, str] = {}
slots = {}
with form_column, st.form(keys.CHANGE_FORM, clear_on_submit=True):
    for field in view.CHANGE_OWN:
        values[field.name] = st.text_input(
            field.label, type="password", key=field.key, autocomplete=field.autocomplete, help=field.help
        )
        slots[field.name] = st.empty()
    submitted = st.form_submit_button("Change password", type="primary", key=keys.SUBMIT)
    slots[GENERAL] = st.empty()

if submitted:
    errors = view.check_before_saving(values)
    if not errors:
        try:
            # The new session epoch ends the account's other sessions; this one carries on with it.
            changed = st.session_state[USER] = services.change_password(
                store, user, current=values["current"], new=values["new"]
            )
            # This browser keeps its login under the new session epoch; every other session ends.
            web_sessions.renew(st.session_state, store, changed, "/account")
        except StrideError as exc:
            errors = view.refusal_errors(exc, view.CHANGE_OWN)
        else:
            st.session_state[keys.FLASH] = view.CHANGED
            st.rerun()
    for field_name, message in errors.items():
        slots[field_name].error(md_escape(message))
