"""Log in; after an admin's reset, choose a new password before any page opens."""

import datetime as dt
from collections.abc import Callable, MutableMapping
from typing import Any

import streamlit as st

from dashboard import account_views as view
from dashboard import auth, services, web_sessions
from dashboard import page_keys as shared
from dashboard.config import Settings
from dashboard.form_errors import GENERAL
from dashboard.page_keys import Account as keys
from dashboard.ports import Store, StrideError, User
from dashboard.safe_text import md_escape

# The login page runs without a signed-in user, so it reads the store and settings itself. A deep
# link as the very first request after a restart can run this script before the router (Streamlit's
# pages/ fallback); send it through app.py, which holds the login gate.
if shared.STORE not in st.session_state:
    st.switch_page("app.py")
    st.stop()
store: Store = st.session_state[shared.STORE]
settings: Settings = st.session_state[shared.SETTINGS]

Start = Callable[[MutableMapping[Any, Any], Store, User, str | None], None]


def sign_in(user: User, start: Start) -> None:
    """Keep `user` signed in in this session and start its server session (`start`), then rerun."""
    st.session_state[shared.USER] = user
    st.session_state[shared.LAST_SEEN] = dt.datetime.now(dt.UTC)
    # The router sends the browser to claim a cookie, so the login lasts across a refresh and new tabs.
    start(st.session_state, store, user, web_sessions.page_path(st.context.url, st.query_params.to_dict()))
    st.rerun()


st.title("Stride")
st.caption("Walking-provoked low back pain: visits, trends, red flags and the patient's plan.")
redirect = view.logout_redirect(
    bool(st.session_state.pop(web_sessions.STATE_CLEAR_COOKIE, False)), st.context.cookies
)
if redirect:
    st.markdown(redirect, unsafe_allow_html=True)
if st.session_state.pop(shared.EXPIRED, False):
    st.info(view.EXPIRED_NOTE)
if st.session_state.pop(shared.ACCOUNT_ENDED, False):
    st.info(view.ACCOUNT_ENDED_NOTE)

pending = st.session_state.get(shared.USER)
if pending is not None and pending.must_change_password:
    # After an admin's reset: a new password before any page opens (the router shows only this page).
    reset_account: User = pending
    st.subheader("Choose a new password")
    st.write(view.RESET_NOTE)
    values: dict[str, str] = {}
    slots = {}
    with st.form(keys.REQUIRED_FORM, clear_on_submit=True):
        for field in view.CHOOSE_REQUIRED:
            values[field.name] = st.text_input(**field.box())
            slots[field.name] = st.empty()
        chosen = st.form_submit_button("Save and continue", type="primary", key=keys.REQUIRED_SUBMIT)
        slots[GENERAL] = st.empty()
    if chosen:
        updated, errors = view.save_password(
            values,
            view.CHOOSE_REQUIRED,
            lambda typed: services.choose_required_password(store, reset_account, new=typed["new"]),
        )
        if updated is not None:
            # The new password bumped the account's session epoch: this browser gets a new session.
            sign_in(updated, web_sessions.renew)
        for field_name, message in errors.items():
            slots[field_name].error(md_escape(message))
    if st.button("Log out", key=keys.REQUIRED_LOGOUT):
        services.logout(store, pending)
        web_sessions.end(st.session_state, store, web_sessions.REASON_LOGOUT)  # also clears the state
        st.rerun()
    st.stop()

with st.form(keys.LOGIN_FORM, enter_to_submit=True):
    username = st.text_input("Username", key=keys.USERNAME, autocomplete="username")
    password = st.text_input("Password", type="password", key=keys.PASSWORD, autocomplete="current-password")
    submitted = st.form_submit_button("Log in", type="primary")

if submitted:
    try:
        # The browser's address throttles failures by client; None when Streamlit does not know it
        # (loopback, AppTest, a proxy without STRIDE_TRUST_FORWARDED_FOR): then only the account's delay.
        client = auth.client_address(
            st.context.ip_address,
            st.context.headers.get("X-Forwarded-For"),
            trust_forwarded_for=settings.trust_forwarded_for,
        )
        user = services.authenticate(store, username, password, client=client, settings=settings)
    except StrideError as exc:
        st.error(md_escape(str(exc)))
    else:
        sign_in(user, web_sessions.start_after_login)

if st.session_state.get(shared.IS_DEMO):
    st.info(view.demo_accounts_note())
st.caption("Decision support for registered clinicians treating adults. It does not diagnose.")
