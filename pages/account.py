import streamlit as st

from dashboard import auth, services, web_sessions
from dashboard.ports import InvalidInputError, Store, StrideError, User
from dashboard.safe_text import md_escape

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

store: Store = st.session_state["store"]
user: User = st.session_state["user"]

ROLE_WORDS = {
    "clinician": "Clinician: records visits, closes red flags, gives handouts, exports a patient's record.",
    "admin": "Administrator: everything a clinician does, plus accounts, the audit trail and clinic exports.",
    "readonly": "Read-only: views records, trends and red flags; cannot change anything.",
}

st.title("My account")
# No code span for the username: a backtick in it would end the span and let Markdown through.
st.markdown(
    f"**{md_escape(user.display_name)}** · username {md_escape(user.username)} · "
    f"role **{md_escape(user.role)}**"
)
st.caption(ROLE_WORDS.get(user.role, ""))

flash = st.session_state.pop("account_flash", None)
if flash:
    st.success(flash)

st.subheader("Change your password")
form_column, _ = st.columns([1, 1])
with form_column, st.form("account_password", clear_on_submit=True):
    current = st.text_input(
        "Current password", type="password", key="account_current", autocomplete="current-password"
    )
    current_error = st.empty()
    new = st.text_input(
        "New password",
        type="password",
        key="account_new",
        autocomplete="new-password",
        help=f"At least {auth.MIN_PASSWORD_LENGTH} characters, not containing your username, "
        "and not a common password.",
    )
    new_error = st.empty()
    repeat = st.text_input(
        "Repeat the new password", type="password", key="account_repeat", autocomplete="new-password"
    )
    repeat_error = st.empty()
    submitted = st.form_submit_button("Change password", type="primary", key="account_submit")
    general_error = st.empty()

if submitted:
    if not current:
        current_error.error("Enter your current password.")
    elif new != repeat:
        repeat_error.error("The two new passwords are not the same.")
    else:
        try:
            # The new session epoch ends the account's other sessions; this one carries on with it.
            changed = st.session_state["user"] = services.change_password(
                store, user, current=current, new=new
            )
            # This browser keeps its login under the new session epoch; every other session ends.
            web_sessions.renew(st.session_state, store, changed, "/account")
        except InvalidInputError as exc:
            slots = {"current": current_error, "new": new_error}
            for field, message in exc.errors.items():
                slots.get(field, general_error).error(md_escape(message))
        except StrideError as exc:
            general_error.error(md_escape(str(exc)))
        else:
            st.session_state["account_flash"] = "Your password was changed."
            st.rerun()
