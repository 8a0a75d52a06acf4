import datetime as dt

import streamlit as st

from dashboard import auth, services, web_sessions
from dashboard.config import Settings
from dashboard.ports import InvalidInputError, Store, StrideError
from dashboard.safe_text import md_escape

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

store: Store = st.session_state["store"]
settings: Settings = st.session_state["settings"]

st.title("Stride")
st.caption("Walking-provoked low back pain: visits, trends, red flags and the patient's plan.")
if (
    st.session_state.pop(web_sessions.STATE_CLEAR_COOKIE, False)
    and web_sessions.COOKIE_NAME in st.context.cookies
):
    # After a logout: the server session is revoked already; this deletes the browser's cookie too.
    st.markdown(
        f'<meta http-equiv="refresh" content="0;url={web_sessions.LOGOUT_PATH}">', unsafe_allow_html=True
    )
if st.session_state.pop("expired", False):
    st.info("Your session ended after a period of inactivity. Please log in again.")
if st.session_state.pop("account_ended", False):
    st.info("Your session ended because your account was changed. Please log in again.")

pending = st.session_state.get("user")
if pending is not None and pending.must_change_password:
    # After an admin's reset: a new password before any page opens (the router shows only this page).
    st.subheader("Choose a new password")
    st.write("Your password was reset by an administrator. Choose your own before you continue.")
    with st.form("required_password", clear_on_submit=True):
        new = st.text_input(
            "New password",
            type="password",
            key="required_new",
            autocomplete="new-password",
            help=f"At least {auth.MIN_PASSWORD_LENGTH} characters, not containing your username, "
            "and not a common password.",
        )
        new_error = st.empty()
        repeat = st.text_input(
            "Repeat the new password", type="password", key="required_repeat", autocomplete="new-password"
        )
        repeat_error = st.empty()
        chosen = st.form_submit_button("Save and continue", type="primary", key="required_submit")
        general_error = st.empty()
    if chosen:
        if new != repeat:
            repeat_error.error("The two new passwords are not the same.")
        else:
            try:
                updated = services.choose_required_password(store, pending, new=new)
            except InvalidInputError as exc:
                for field, message in exc.errors.items():
                    (new_error if field == "new" else general_error).error(message)
            except StrideError as exc:
                general_error.error(str(exc))
            else:
                st.session_state["user"] = updated
                st.session_state["last_seen"] = dt.datetime.now(dt.UTC)
                # The new password bumped the account's session epoch: this browser gets a new session.
                next_path = web_sessions.page_path(st.context.url, st.query_params.to_dict())
                web_sessions.renew(st.session_state, store, updated, next_path)
                st.rerun()
    if st.button("Log out", key="required_logout"):
        services.logout(store, pending)
        web_sessions.end(st.session_state, store, web_sessions.REASON_LOGOUT)  # also clears the state
        st.rerun()
    st.stop()

with st.form("login", enter_to_submit=True):
    username = st.text_input("Username", key="login_username", autocomplete="username")
    password = st.text_input(
        "Password", type="password", key="login_password", autocomplete="current-password"
    )
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
        st.session_state["user"] = user
        st.session_state["last_seen"] = dt.datetime.now(dt.UTC)
        # Keep the login across a refresh and new tabs: the router sends the browser to claim a cookie.
        next_path = web_sessions.page_path(st.context.url, st.query_params.to_dict())
        web_sessions.start_after_login(st.session_state, store, user, next_path)
        st.rerun()

if st.session_state.get("is_demo"):
    st.info(
        "**Fictional demo clinic.** Try these accounts (password `"
        + auth.DEMO_PASSWORD
        + "`): "
        + ", ".join(f"`{name}` ({role})" for name, (role, _) in auth.DEMO_USERS.items())
        + ". They work only on a database marked as a demo."
    )
st.caption("Decision support for registered clinicians treating adults. It does not diagnose.")
