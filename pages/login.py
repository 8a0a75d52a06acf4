import datetime as dt
from urllib.parse import urlencode, urlsplit

import streamlit as st

from dashboard import auth, services, web_sessions
from dashboard.ports import StrideError

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

store = st.session_state["store"]
settings = st.session_state["settings"]

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

with st.form("login", enter_to_submit=True):
    username = st.text_input("Username", key="login_username", autocomplete="username")
    password = st.text_input(
        "Password", type="password", key="login_password", autocomplete="current-password"
    )
    submitted = st.form_submit_button("Log in", type="primary")

if submitted:
    try:
        user = services.authenticate(store, username, password, settings=settings)
    except StrideError as exc:
        st.error(str(exc))
    else:
        st.session_state["user"] = user
        st.session_state["last_seen"] = dt.datetime.now(dt.UTC)
        # Keep the login across a refresh and new tabs: the router sends the browser to claim a cookie.
        query = urlencode(st.query_params.to_dict())
        next_path = urlsplit(st.context.url or "/").path + (f"?{query}" if query else "")
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
