"""What the My account and Log in pages say and check, apart from their widgets.

Both pages ask for a new password twice (My account also for the current one); the fields, the
check made before the service is called and where a refusal's messages go are described here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from dashboard import auth, web_sessions
from dashboard.form_errors import errors_by_field
from dashboard.page_keys import Account as keys
from dashboard.ports import StrideError, User
from dashboard.safe_text import md_escape


@dataclass(frozen=True)
class PasswordField:
    """One password box of a form; `name` is the field the password services name in their errors."""

    name: str
    label: str
    key: str
    autocomplete: str
    help: str | None = None

    def box(self) -> dict[str, Any]:
        """Keyword arguments for ``st.text_input``: a masked box the browser may fill from its store."""
        return {
            "label": self.label,
            "type": "password",
            "key": self.key,
            "autocomplete": self.autocomplete,
            "help": self.help,
        }


ROLE_WORDS: Final = {
    "clinician": "Clinician: records visits, closes red flags, gives handouts, exports a patient's record.",
    "admin": "Administrator: everything a clinician does, plus accounts, the audit trail and clinic exports.",
    "readonly": "Read-only: views records, trends and red flags; cannot change anything.",
}

NEW_PASSWORD_HELP: Final = (
    f"At least {auth.MIN_PASSWORD_LENGTH} characters, not containing your username, "
    "and not a common password."
)
NOT_THE_SAME: Final = "The two new passwords are not the same."
NO_CURRENT: Final = "Enter your current password."
CHANGED: Final = "Your password was changed."

EXPIRED_NOTE: Final = "Your session ended after a period of inactivity. Please log in again."
ACCOUNT_ENDED_NOTE: Final = "Your session ended because your account was changed. Please log in again."
RESET_NOTE: Final = "Your password was reset by an administrator. Choose your own before you continue."


# My account: the current password, then the new one twice.
CHANGE_OWN: Final = (
    PasswordField("current", "Current password", keys.CURRENT, "current-password"),
    PasswordField("new", "New password", keys.NEW, "new-password", NEW_PASSWORD_HELP),
    PasswordField("repeat", "Repeat the new password", keys.REPEAT, "new-password"),
)
# Log in, after an admin's reset: the new password twice, before any page opens.
CHOOSE_REQUIRED: Final = (
    PasswordField("new", "New password", keys.REQUIRED_NEW, "new-password", NEW_PASSWORD_HELP),
    PasswordField("repeat", "Repeat the new password", keys.REQUIRED_REPEAT, "new-password"),
)


def check_before_saving(values: Mapping[str, str]) -> dict[str, str]:
    """Field → message for what the page catches itself (a missing current password, two different
    new ones); empty when the service may be asked. `values` maps the form's field names to input."""
    if "current" in values and not values["current"]:
        return {"current": NO_CURRENT}
    if values.get("new", "") != values.get("repeat", ""):
        return {"repeat": NOT_THE_SAME}
    return {}


def save_password(
    values: Mapping[str, str], fields: tuple[PasswordField, ...], save: Callable[[Mapping[str, str]], User]
) -> tuple[User | None, dict[str, str]]:
    """The account `save` returns after the page's own checks passed, or None and field → message."""
    errors = check_before_saving(values)
    if errors:
        return None, errors
    try:
        return save(values), {}
    except StrideError as exc:
        return None, refusal_errors(exc, fields)


def refusal_errors(exc: StrideError, fields: tuple[PasswordField, ...]) -> dict[str, str]:
    """The service's refusal as field → message for the form's boxes; anything else under the form."""
    return errors_by_field(exc, {field.name for field in fields})


def account_heading(user: User) -> str:
    """The My account line: display name, username and role, all escaped as Markdown."""
    # No code span for the username: a backtick in it would end the span and let Markdown through.
    return (
        f"**{md_escape(user.display_name)}** · username {md_escape(user.username)} · "
        f"role **{md_escape(user.role)}**"
    )


def logout_redirect(cookie_to_clear: bool, cookies: Mapping[str, str]) -> str | None:
    """After a logout, the HTML that sends the browser to delete its login cookie; None if none is left."""
    # The server session is revoked already; this deletes the browser's cookie too.
    if cookie_to_clear and web_sessions.COOKIE_NAME in cookies:
        return f'<meta http-equiv="refresh" content="0;url={web_sessions.LOGOUT_PATH}">'
    return None


def demo_accounts_note() -> str:
    """The demo clinic's accounts and their shared password, for the login page of a demo database."""
    return (
        "**Fictional demo clinic.** Try these accounts (password `"
        + auth.DEMO_PASSWORD
        + "`): "
        + ", ".join(f"`{name}` ({role})" for name, (role, _) in auth.DEMO_USERS.items())
        + ". They work only on a database marked as a demo."
    )
