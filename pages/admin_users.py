"""Admin · Users: the clinic's accounts, adding one, and an account's activation, role and password."""

import functools

import streamlit as st

from dashboard import admin_views as view
from dashboard import auth, page_text, services
from dashboard.form_errors import GENERAL, error_messages
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
store, user, settings = ctx.store, ctx.user, ctx.settings

st.title("Users")

if flash := st.session_state.pop(keys.FLASH, None):
    st.success(flash)

try:
    users = services.list_users(store, user)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
by_id = {u.id: u for u in users}


def confirm(message: str) -> None:
    """Keep the confirmation for the next run and redraw the page with the change."""
    st.session_state[keys.FLASH] = message
    st.rerun()


st.dataframe(page_text.users_frame(users, settings.timezone), hide_index=True, key=keys.USERS_TABLE)

left, right = st.columns(2, gap="large")
with left:
    st.markdown("#### Add an account")
    errors = st.session_state.pop(keys.CREATE_ERRORS, {})
    with st.form(keys.CREATE_FORM):
        st.text_input("Username", key=keys.NEW_USERNAME, autocomplete="off")
        for message in view.field_errors(errors, "username"):
            st.error(message)
        st.text_input("Display name (shown to colleagues)", key=keys.NEW_DISPLAY_NAME)
        for message in view.field_errors(errors, "display_name"):
            st.error(message)
        st.selectbox("Role", list(auth.ROLES), key=keys.NEW_ROLE)
        for message in view.field_errors(errors, "role"):
            st.error(message)
        st.text_input(
            "Initial password",
            type="password",
            key=keys.NEW_PASSWORD,
            autocomplete="new-password",
            help=view.INITIAL_PASSWORD_HELP,
        )
        for message in view.field_errors(errors, "password", GENERAL):
            st.error(message)
        st.form_submit_button(
            "Create account",
            on_click=view.submit_new_account,
            args=(st.session_state, functools.partial(services.create_user, store, user)),
            key=keys.CREATE_SUBMIT,
        )

with right:
    st.markdown("#### Manage an account")
    chosen = st.selectbox(
        "Account",
        list(by_id),
        index=None,
        format_func=lambda uid: view.account_label(by_id[uid]),
        placeholder="Choose an account",
        key=keys.PICK_USER,
    )
    if chosen is not None:
        target = by_id[chosen]
        own = target.id == user.id
        if own:
            st.caption(view.OWN_ACCOUNT)
        try:
            if target.active:
                if st.button("Deactivate account", key=keys.DEACTIVATE, disabled=own, icon="⛔"):
                    services.admin_update_user(store, user, target.id, active=False)
                    confirm(view.activation_changed(target.username, active=False))
            elif st.button("Reactivate account", key=keys.REACTIVATE, icon="✅"):
                services.admin_update_user(store, user, target.id, active=True)
                confirm(view.activation_changed(target.username, active=True))
            c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
            role = c1.selectbox(
                "Role", list(auth.ROLES), index=auth.ROLES.index(target.role), key=keys.ROLE, disabled=own
            )
            if c2.button("Save role", key=keys.SAVE_ROLE, disabled=own or role == target.role):
                services.admin_update_user(store, user, target.id, role=role)
                confirm(view.role_changed(target.username, role))
        except StrideError as exc:
            st.error(md_escape(str(exc)))

        with st.form(keys.RESET_FORM, clear_on_submit=True):
            st.markdown(f"Reset the password of **{md_escape(target.username)}**")
            typed = {field.name: st.text_input(**field.box()) for field in view.RESET_FIELDS}
            reset = st.form_submit_button("Reset password", key=keys.RESET_SUBMIT)
        if reset and typed["new"] != typed["repeat"]:
            st.error(view.RESET_NOT_THE_SAME)
        elif reset:
            try:
                services.admin_update_user(store, user, target.id, new_password=typed["new"])
            except StrideError as exc:
                for message in error_messages(exc):
                    st.error(md_escape(message))
            else:
                confirm(view.password_reset(target.username))
