"""The clinic key: a secret that signs clinic exports and authenticates the audit chain.

It lives outside the database and outside every export, so someone with only database access (or
only an archive) cannot forge a signature or re-hash the audit trail. Several app processes share
one key: set ``STRIDE_CLINIC_KEY`` (64 or more hex digits) or point ``STRIDE_CLINIC_KEY_FILE`` at a
file they all read. Otherwise the key file sits beside the SQLite database (``clinic.key``), or in
``var/`` of the repository for a server database, and is created, owner-only, at first start.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from dashboard.config import ROOT

KEY_BYTES = 32  # 256 bits, the HMAC-SHA256 block-strength key
KEY_FILE_NAME = "clinic.key"


class ClinicKeyError(RuntimeError):
    """The clinic key is missing (and may not be created) or unreadable."""


def clinic_key_path(database_url: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where the clinic key file of this database is kept (STRIDE_CLINIC_KEY_FILE wins)."""
    env = os.environ if environ is None else environ
    if env.get("STRIDE_CLINIC_KEY_FILE"):
        return Path(env["STRIDE_CLINIC_KEY_FILE"])
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).resolve().parent / KEY_FILE_NAME
    return ROOT / "var" / KEY_FILE_NAME


def load_clinic_key(
    database_url: str, *, create: bool = True, environ: Mapping[str, str] | None = None
) -> bytes:
    """The clinic key (32+ bytes) from STRIDE_CLINIC_KEY or its file, created 0600 when absent."""
    env = os.environ if environ is None else environ
    if raw := env.get("STRIDE_CLINIC_KEY", "").strip():
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            raise ClinicKeyError("STRIDE_CLINIC_KEY must be hexadecimal") from None
        if len(key) < KEY_BYTES:
            raise ClinicKeyError(f"STRIDE_CLINIC_KEY must have at least {2 * KEY_BYTES} hex digits")
        return key
    path = clinic_key_path(database_url, env)
    if not path.exists():
        if not create:
            raise ClinicKeyError(f"no clinic key at {path}")
        _create_key_file(path)
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        raise ClinicKeyError(f"the clinic key at {path} cannot be read") from None
    if len(key) < KEY_BYTES:
        raise ClinicKeyError(f"the clinic key at {path} is too short")
    return key


def _create_key_file(path: Path) -> None:
    """Write a new random key to `path`, owner-only; a key another process wrote first is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
            out.flush()
            os.fsync(out.fileno())
        # Atomic, and fails when another process created the key first: theirs is kept.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def sign(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message` under the clinic key, as 64 hex digits."""
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_matches(key: bytes, message: bytes, signature: str) -> bool:
    """True when `signature` is the clinic key's HMAC of `message` (constant-time comparison)."""
    return hmac.compare_digest(sign(key, message), signature.strip().lower())


def key_fingerprint(key: bytes) -> str:
    """A short, non-secret name for a key (16 hex digits of a hash of it), to tell two keys apart."""
    return hashlib.sha256(b"stride clinic key fingerprint\0" + key).hexdigest()[:16]


def key_source(database_url: str, environ: Mapping[str, str] | None = None) -> str:
    """Where this database's clinic key comes from, in words (for messages; never the key itself)."""
    env = os.environ if environ is None else environ
    if env.get("STRIDE_CLINIC_KEY", "").strip():
        return "the STRIDE_CLINIC_KEY environment variable"
    return f"the key file {clinic_key_path(database_url, env)}"
