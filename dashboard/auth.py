"""Accounts: argon2 password hashing, the password policy, roles and what each role may do."""

from __future__ import annotations

import math
import string
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

ROLES: tuple[str, ...] = ("clinician", "admin", "readonly")
# What each role may do; services check these, so a page that forgets to hide a button is still safe.
PERMISSIONS: dict[str, frozenset[str]] = {
    "readonly": frozenset({"read"}),
    "clinician": frozenset({"read", "write_clinical", "handout", "export_patient"}),
    "admin": frozenset(
        {
            "read",
            "write_clinical",
            "handout",
            "export_patient",
            "manage_users",
            "view_audit",
            "export_clinic",
            "import_clinic",
            "approve_rules",
            "manage_settings",
            "erase_patients",
            # Re-opening a discharged episode undoes a clinical decision: an admin, with a reason (§11.1).
            "reopen_episodes",
            # The clinic's outcomes compare clinicians (§11.3): the clinic lead's view, an admin's.
            "view_outcomes",
        }
    ),
}
DEMO_USERS: dict[str, tuple[str, str]] = {
    "demo.clinician": ("clinician", "Demo Clinician"),
    "demo.admin": ("admin", "Demo Admin"),
    "demo.readonly": ("readonly", "Demo Read-only"),
    # Three more fictional physiotherapists, so the demo clinic's outcomes compare several clinicians.
    "demo.avery": ("clinician", "Demo Physio Avery"),
    "demo.blake": ("clinician", "Demo Physio Blake"),
    "demo.casey": ("clinician", "Demo Physio Casey"),
}
DEMO_PASSWORD = "stride-demo"
MIN_PASSWORD_LENGTH = 10

# Light argon2id parameters keep a login well under a second on a 2-core server; still memory-hard.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verified against when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("stride-no-such-user")


def hash_password(password: str) -> str:
    """An argon2id hash of the password, safe to store."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the stored hash (constant work for unknown users)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
PRODUCT_NAMES = ("stride",)
# Rows of common keyboards and the alphabet/digits, forwards; a password inside one (either way) is a walk.
_SEQUENCES = (
    "01234567890",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
_EDGE = string.digits + string.punctuation + " "
MIN_DISTINCT_CHARACTERS = 4


@cache
def common_passwords() -> frozenset[str]:
    """The bundled deny-list (dashboard/common_passwords.txt), lower case."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def _is_walk(text: str) -> bool:
    """True for a run along the alphabet, the digits or a keyboard row (forwards or backwards)."""
    compact = "".join(ch for ch in text if ch.isalnum())
    if len(compact) < 4:
        return False
    return any(compact in seq or compact[::-1] in seq for seq in _SEQUENCES)


def _is_repeated_unit(text: str) -> bool:
    """True when the password is a short unit (up to 4 characters) repeated, like `abcabcabca`."""
    return (
        any((text[:size] * math.ceil(len(text) / size))[: len(text)] == text for size in range(1, 5))
        and len(text) > 4
    )


def password_problems(username: str, password: str, *, avoid: tuple[str, ...] = ()) -> list[str]:
    """Reasons a new password breaks the policy (empty when it is acceptable).

    Beyond length and the username, refuses guessable passwords: one character or a short unit repeated,
    a run along the alphabet, digits or keyboard, a common password (bundled list) or the product or
    clinic name (`avoid`) with only digits or punctuation around it. Messages never repeat the password.
    """
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    folded = password.casefold()
    if username and username.casefold() in folded:
        problems.append("The password must not contain the username.")
    core = folded.strip(_EDGE)
    names = {*PRODUCT_NAMES, *(word.casefold() for name in avoid for word in name.split() if len(word) > 3)}
    if password and (len(set(folded)) < MIN_DISTINCT_CHARACTERS or _is_repeated_unit(folded)):
        problems.append("The password repeats too few characters: choose one that is harder to guess.")
    elif password and (_is_walk(folded) or _is_walk(core)):
        problems.append("The password is a sequence (like 1234 or qwerty): choose one harder to guess.")
    elif password and (not core or core in names or {core, folded} & common_passwords()):
        problems.append("This password is too common: choose one that is harder to guess.")
    return problems


def client_address(remote: object, forwarded_for: object, *, trust_forwarded_for: bool) -> str | None:
    """The client's address for login throttling: the connection's, or behind a trusted proxy the last
    X-Forwarded-For entry (the one that proxy appended); None when unknown (loopback, tests)."""
    if trust_forwarded_for and isinstance(forwarded_for, str) and forwarded_for.strip():
        last = forwarded_for.split(",")[-1].strip()
        return last or None
    return remote if isinstance(remote, str) and remote else None


def can(role: str, permission: str) -> bool:
    """True when the role grants the permission."""
    return permission in PERMISSIONS.get(role, frozenset())
