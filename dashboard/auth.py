"""Accounts: argon2 password hashing, the password policy, roles and what each role may do."""

from __future__ import annotations

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
        }
    ),
}
DEMO_USERS: dict[str, tuple[str, str]] = {
    "demo.clinician": ("clinician", "Demo Clinician"),
    "demo.admin": ("admin", "Demo Admin"),
    "demo.readonly": ("readonly", "Demo Read-only"),
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


def password_problems(username: str, password: str) -> list[str]:
    """Reasons a new password breaks the policy (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if username and username.casefold() in password.casefold():
        problems.append("The password must not contain the username.")
    return problems


def can(role: str, permission: str) -> bool:
    """True when the role grants the permission."""
    return permission in PERMISSIONS.get(role, frozenset())
