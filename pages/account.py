"""My account: who is signed in, in which role, and changing one's own password."""

from collections.abc import Mapping

import streamlit as st

from dashboard import account_views as view
from dashboard import services, web_sessions
from dashboard.form_errors import GENERAL
from dashboard.page_context import page_context
from dashboard.page_keys import USER
from dashboard.page_keys import Account as keys
from dashboard.ports import User
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
        values[field.name] = st.text_input(**field.box())
        slots[field.name] = st.empty()
    submitted = st.form_submit_button("Change password", type="primary", key=keys.SUBMIT)
    slots[GENERAL] = st.empty()


def change_password(typed: Mapping[str, str]) -> User:
    """Change it, and keep this browser signed in under the account's new session epoch."""
    # The new session epoch ends the account's other sessions; this one carries on with it.
    changed = st.session_state[USER] = services.change_password(
        store, user, current=typed["current"], new=typed["new"]
    )
    web_sessions.renew(st.session_state, store, changed, "/account")
    return changed


if submitted:
    changed, errors = view.save_password(values, view.CHANGE_OWN, change_password)
    if changed is not None:
        st.session_state[keys.FLASH] = view.CHANGED
        st.rerun()
    for field_name, message in errors.items():
        slots[field_name].error(md_escape(message))
