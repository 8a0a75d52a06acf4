"""What the Admin pages say, check and compute, apart from their widgets.

Values in, values out: a page reads its widgets, passes their values here, calls the service and
shows what comes back. The Admin pages' form callbacks (the service passed in as a function), the
users page's confirmations, the audit trail's filter window in the clinic's time zone, the governance
lines, and the clinic export and import around the data layer (passed in as functions, since the core
does not import it) live here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

from dashboard import auth, page_text
from dashboard.account_views import PasswordField
from dashboard.config import RuleSettings
from dashboard.downloads import ZIP, Download
from dashboard.form_errors import errors_by_field
from dashboard.governance import Decision
from dashboard.languages import language_label
from dashboard.page_context import PageContext
from dashboard.page_keys import Admin as keys
from dashboard.ports import StrideError, User
from dashboard.safe_text import md_escape

OWN_ACCOUNT: Final = "This is your own account: you cannot deactivate it or change its role here."
INITIAL_PASSWORD_HELP: Final = f"At least {auth.MIN_PASSWORD_LENGTH} characters, not containing the username."
RESET_NOT_THE_SAME: Final = "The two passwords are not the same."
# An admin's reset of someone else's password: the new one twice, no advice (the service explains).
RESET_FIELDS: Final = (
    PasswordField("new", "New password", keys.RESET_NEW, "new-password"),
    PasswordField("repeat", "Repeat the new password", keys.RESET_REPEAT, "new-password"),
)
NOT_CONFIRMED: Final = {"confirm": "Tick the box to confirm the erasure."}
T = TypeVar("T")


def for_admins(ctx: PageContext | None) -> PageContext | None:
    """An Admin page's context: None before the router has run, and for an account that is no admin."""
    return ctx if ctx is not None and auth.can(ctx.user.role, "manage_users") else None


def _outcome(state: MutableMapping[Any, Any], errors_key: str, use_case: Callable[[], T]) -> T | None:
    """What a form's use case returned; None when it was refused, its messages then under `errors_key`."""
    try:
        return use_case()
    except StrideError as exc:
        state[errors_key] = errors_by_field(exc)
        return None


def field_errors(errors: Mapping[str, str], *fields: str) -> list[str]:
    """The messages the service raised for `fields`, in that order and Markdown-escaped, for under a box."""
    return [md_escape(errors[field]) for field in fields if field in errors]


# --- users ---------------------------------------------------------------------------------------


def account_label(user: User) -> str:
    """How an account is named in the account picker: username · name · role (· deactivated)."""
    return f"{user.username} · {user.display_name} · {user.role}" + ("" if user.active else " · deactivated")


def new_account(state: Mapping[Any, Any]) -> dict[str, str]:
    """The Add-an-account form's values as `services.create_user` takes them (missing ones empty)."""
    return {
        "username": state.get(keys.NEW_USERNAME, ""),
        "display_name": state.get(keys.NEW_DISPLAY_NAME, ""),
        "role": state.get(keys.NEW_ROLE) or "",
        "password": state.get(keys.NEW_PASSWORD, ""),
    }


def submit_new_account(state: MutableMapping[Any, Any], create: Callable[..., User]) -> None:
    """The Add-an-account form's callback: `create` the account, then a confirmation or field messages.

    It runs before the page, so it may clear the fields after a successful create; the password never
    stays in the session, whatever the outcome.
    """
    made = _outcome(state, keys.CREATE_ERRORS, lambda: create(**new_account(state)))
    if made is not None:
        state[keys.FLASH] = created(made)
        state[keys.NEW_USERNAME] = state[keys.NEW_DISPLAY_NAME] = ""
    state[keys.NEW_PASSWORD] = ""


def created(user: User) -> str:
    """The confirmation after an account was created (Markdown-escaped)."""
    return f"Account {md_escape(user.username)} ({md_escape(user.role)}) created."


def activation_changed(username: str, *, active: bool) -> str:
    """The confirmation after an account was deactivated or reactivated (Markdown-escaped)."""
    return f"Account {md_escape(username)} {'reactivated' if active else 'deactivated'}."


def role_changed(username: str, role: str) -> str:
    """The confirmation after an account's role changed (Markdown-escaped)."""
    return f"Account {md_escape(username)} is now {role}."


def password_reset(username: str) -> str:
    """The confirmation after an admin reset an account's password: what follows for its owner."""
    return (
        f"Password of {md_escape(username)} reset: their open sessions end, and "
        "they choose a new password at their next login. Any login delay on the account "
        "was cleared."
    )


# --- audit trail ---------------------------------------------------------------------------------

AUDIT_DAYS: Final = 30  # the default window: the last 30 days, today included
AUDIT_LIMIT: Final = 500  # the store returns at most this many entries
DATES_REVERSED: Final = "The start date is after the end date."
CHAIN_NOTE: Final = (
    "Each audit entry carries a hash of the one before it: an edited or deleted entry breaks the chain."
)


@dataclasses.dataclass(frozen=True)
class AuditQuery:
    """The audit trail's filters as `services.audit_trail` takes them; times in UTC, `until` exclusive."""

    user_id: str | None
    patient_id: str | None
    action: str | None
    since: dt.datetime
    until: dt.datetime

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for `services.audit_trail`."""
        return dataclasses.asdict(self)


def default_audit_days(today: dt.date) -> tuple[dt.date, dt.date]:
    """The From and To days the audit filter starts with: the last AUDIT_DAYS days up to today."""
    return today - dt.timedelta(days=AUDIT_DAYS), today


def audit_query(
    user_id: str | None,
    patient_id: str,
    action: str | None,
    *,
    days: tuple[dt.date, dt.date],
    tz_name: str,
    now: dt.datetime,
) -> AuditQuery | None:
    """The filters for whole clinic days From..To (both included) in the clinic's zone; None if reversed."""
    since_day, until_day = days
    if since_day > until_day:
        return None
    zone = page_text.local_datetime(now, tz_name).tzinfo

    def start_of(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=zone).astimezone(dt.UTC)

    return AuditQuery(
        user_id=user_id,
        patient_id=patient_id.strip() or None,
        action=action or None,
        since=start_of(since_day),
        until=start_of(until_day + dt.timedelta(days=1)),
    )


def audit_caption(count: int) -> str:
    """Under the audit table: how many entries, in which order, and the display limit."""
    return f"{count} entries, newest first (at most {AUDIT_LIMIT} are shown: narrow the filters)."


def chain_verdict(intact: bool, checked: int, broken: int | None) -> str:
    """What the audit chain check found, and what to do when it is broken."""
    if intact:
        return f"Audit chain intact: {checked} entries checked."
    return (
        f"Audit chain broken at entry {broken} ({checked} entries checked). "
        "Entries from there on may have been changed: keep a copy of the database and investigate."
    )


# --- rules, translations, licences, retention ----------------------------------------------------

NOT_APPROVED: Final = "⚠️ Not yet approved by this clinic. Screenings made with it carry a notice."
RULES_NOTE: Final = (
    "A hash of the rule table and the clinic's settings. Each stored screening keeps its version, "
    "so past results stay explainable after the rules change."
)
TRANSLATIONS_NOTE: Final = (
    "Until a clinician has reviewed a translation, its handouts say so on every page and print the "
    "English safety net in full. A changed catalogue is a new version and needs a new review."
)
LICENCES_NOTE: Final = (
    "ODI, RMDQ, ZCQ and STarT Back stay off until the clinic's licence (or cover) is recorded here."
)
DEFAULT_RETENTION_YEARS: Final = 8  # offered until the clinic sets its own period


def rule_settings_rows(rules: RuleSettings) -> list[dict[str, str]]:
    """The clinic's red-flag settings as Setting / Value rows (names in words)."""
    return [{"Setting": k.replace("_", " "), "Value": str(v)} for k, v in dataclasses.asdict(rules).items()]


def approval_line(approval: Decision) -> str:
    """Who approved the rule set, when (UTC) and on what basis (Markdown-escaped)."""
    return (
        f"✅ Approved by {md_escape(approval.by_name)} on {approval.at:%Y-%m-%d %H:%M} UTC: "
        f"{md_escape(approval.note)}"
    )


def translation_label(tag: str, version: str) -> str:
    """A handout translation named by its language and catalogue version."""
    return f"{language_label(tag)} · catalogue `{version}`"


def reviewed_line(label: str, review: Decision) -> str:
    """A reviewed translation: by whom and when the review was recorded (Markdown-escaped)."""
    return (
        f"✅ {md_escape(label)}: reviewed, recorded by {md_escape(review.by_name)} on "
        f"{review.at:%Y-%m-%d} UTC: {md_escape(review.note)}"
    )


def awaiting_review_line(label: str) -> str:
    """A translation no clinician has reviewed yet (Markdown-escaped)."""
    return f"⚠️ {md_escape(label)}: awaiting clinical review"


def licence_line(name: str, held: Decision) -> str:
    """A recorded instrument licence: its basis, by whom and when (Markdown-escaped)."""
    return (
        f"✅ **{name}**: {md_escape(held.note)} (recorded by {md_escape(held.by_name)}, {held.at:%Y-%m-%d})"
    )


PATIENT_USE_NOTE: Final = (
    "Patients see a licensed questionnaire on their check-in only when the licence covers "
    "patient-completed electronic use and the clinic's licensed item wording is loaded "
    "(clinical-reference §12.1). Stride ships no wording: the file holds the text of each item and answer."
)


def patient_use_line(held: Decision | None, wording_sha256: str | None) -> str:
    """Whether patients fill an instrument in on their check-in: the decision and the wording's hash."""
    wording = f"wording loaded (SHA-256 `{wording_sha256[:12]}`)" if wording_sha256 else "no wording loaded"
    if held is None:
        return f"Patient-completed use: **off**; {wording}."
    shown = "on the check-in" if wording_sha256 else "not shown until the wording is loaded"
    return (
        f"Patient-completed use: **on** ({shown}): {md_escape(held.note)} (recorded by "
        f"{md_escape(held.by_name)}, {held.at:%Y-%m-%d}); {wording}."
    )


def retention_caption(due: int) -> str:
    """How many records are past the retention period (listed for review, never deleted)."""
    return f"{due} record(s) past the retention period, listed for review; nothing is deleted."


# --- export ----------------------------------------------------------------------------------------

# After a clinic export is downloaded, short fragment runs every EXPORT_SWEEP_S seconds for
# EXPORT_SWEEP_FOR_S seconds let Streamlit delete the generated file (see the page's sweep).
EXPORT_SWEEP_S: Final = 2.0
EXPORT_SWEEP_FOR_S: Final = 20.0
CLINIC_EXPORT: Final = Download("Export and download", ZIP, icon="📦")

_log = logging.getLogger("stride.admin")


def export_caption(key_source: str) -> str:
    """What the clinic export holds and how it is signed (`key_source`: where this clinic's key is)."""
    return (
        "A zip of JSON and CSV files with a manifest of SHA-256 checksums, signed with this clinic's key "
        f"({md_escape(key_source)}). Password hashes only if asked. A restore into a new "
        "database imports as this clinic's own only where the same key is available: keep a copy of the "
        "key apart from the exports."
    )


def export_file_name(today: dt.date) -> str:
    """The clinic export's file name, dated: stride-export-YYYYMMDD.zip."""
    return f"stride-export-{today:%Y%m%d}.zip"


def export_at_click(check: Callable[[], object], export: Callable[[], bytes]) -> Callable[[], bytes]:
    """The download's data: `check` (the permission) then `export`, run only when the admin clicks.

    It runs outside the script, so a failure cannot be shown on the page: it is logged by kind only
    (no clinical data in the log) and the browser gets a plain error.
    """

    def at_click() -> bytes:
        try:
            check()  # at the click: an admin whose role was revoked since the page was drawn is refused
            return export()
        except Exception as exc:
            _log.error("clinic export failed (%s)", type(exc).__name__)
            raise RuntimeError("the clinic export failed") from None

    return at_click


def sweep_over(clicked_at: float, now: float) -> bool:
    """Whether the sweep after an export click has run long enough (monotonic seconds)."""
    return now - clicked_at > EXPORT_SWEEP_FOR_S


# --- import ----------------------------------------------------------------------------------------

IMPORT_NOTE: Final = (
    "Run a dry run first: it lists every bad row (file, row, field, message) and writes nothing."
)
FROM_ANOTHER_CLINIC: Final = (
    "An archive from another clinic is taken as it is, without the proof that it was not edited "
    "after the export: check where it came from. The import is recorded in the audit trail as "
    "from another clinic; no password hash and no demo flag is taken over, so every imported "
    "account needs a new password from an admin before anyone can log in with it."
)


class RowProblem(Protocol):
    """One bad row of an import, as the data layer's reader reports it."""

    @property
    def file(self) -> str: ...
    @property
    def row(self) -> int | None: ...
    @property
    def field(self) -> str | None: ...
    @property
    def message(self) -> str: ...


@contextmanager
def uploaded_archive(data: bytes) -> Iterator[Path]:
    """The uploaded archive as a file in a private temporary folder, both removed afterwards."""
    path = Path(tempfile.mkdtemp()) / "upload.zip"
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        path.parent.rmdir()


def progress_fraction(fraction: float) -> float:
    """The reader's progress clamped to the 0..1 a progress bar takes."""
    return min(max(fraction, 0.0), 1.0)


def import_failure(exc: Exception) -> str:
    """What the page says when the import stopped: a refusal's message, else its kind only."""
    if isinstance(exc, StrideError):  # the permission (revoked since the page was drawn)
        return md_escape(str(exc))
    return f"The import stopped ({type(exc).__name__}); nothing was written."


def signature_caption(signature: str, key_used: str) -> str | None:
    """Which key checked the archive's signature and what it found; None before the manifest was read."""
    if not signature:
        return None
    return md_escape(f"Signature: {signature or 'not checked'}. Clinic key: {key_used}.")


def import_error_rows(errors: Sequence[RowProblem]) -> list[dict[str, Any]]:
    """The import's bad rows as file / row / field / message table rows."""
    return [{"file": e.file, "row": e.row, "field": e.field, "message": e.message} for e in errors]


# --- erasure ---------------------------------------------------------------------------------------

ERASURE_NOTE: Final = (
    "For a granted erasure request only. The patient's visits, screenings, flags, handouts and "
    "revisions are deleted and the patient becomes an “Erased record”; audit entries keep when, who "
    "and what, without the details. This cannot be undone, and backups or exports made earlier still "
    "hold the data."
)
REQUEST_REF_HELP: Final = "The ticket or letter number of the request; no names (it is kept after erasure)."
REASON_HELP: Final = "The basis for the erasure; no patient details (it is kept in the audit trail)."
NO_SUCH_REFERENCE: Final = "No patient has this reference (erased records are not listed)."


def erasure_request(state: Mapping[Any, Any]) -> dict[str, str]:
    """The erasure form's reason and request reference as `governance.erase_patient` takes them."""
    return {
        "reason": state.get(keys.ERASE_REASON, ""),
        "request_reference": state.get(keys.ERASE_REQUEST_REF, ""),
    }


def submit_erasure(state: MutableMapping[Any, Any], erase: Callable[..., Mapping[str, int]]) -> None:
    """The erasure form's callback: nothing unless confirmed; `erase` the patient, then say what went.

    It runs before the page, so it may clear the form after a successful erasure.
    """
    if not state.get(keys.ERASE_CONFIRM):
        state[keys.ERASE_ERRORS] = dict(NOT_CONFIRMED)
        return
    removed = _outcome(state, keys.ERASE_ERRORS, lambda: erase(**erasure_request(state)))
    if removed is not None:
        state[keys.ERASE_FLASH] = erased(removed)
        state[keys.ERASE_REF] = state[keys.ERASE_REQUEST_REF] = state[keys.ERASE_REASON] = ""
        state[keys.ERASE_CONFIRM] = False


def erasure_candidate(name: str, birth_date: dt.date) -> str:
    """The patient a reference found, for the admin to check it is the person who asked."""
    return f"**{md_escape(name)}**, born {birth_date:%Y-%m-%d}: check this is the person who asked."


def erasure_confirmation(name: str) -> str:
    """The checkbox that confirms an erasure of this patient's clinical record."""
    return f"I confirm that the clinical record of {md_escape(name)} is to be erased; this cannot be undone."


def erased(removed: Mapping[str, int]) -> str:
    """The confirmation after an erasure: what was deleted and what the audit trail keeps."""
    return (
        f"The patient was erased: {removed['visits']} visit(s) and their screenings, "
        f"flags, handouts and revisions deleted, with {removed.get('invites', 0)} link(s), "
        f"{removed.get('patient_reports', 0)} check-in(s) and {removed.get('diary_entries', 0)} diary "
        f"entries; {removed['audit_redacted']} audit entries keep "
        "when, who and what without their details. The erasure itself is in the audit trail."
    )
