"""The audit head: the sequence number and hash of the newest audit row, kept outside the database.

The chain inside the database proves that no row was changed, inserted or removed *between* two
rows; only a record kept elsewhere shows that the newest rows were removed (truncation). After each
committed append the store writes that record here: a small JSON file, signed with the clinic key,
replaced atomically (temporary file, fsync, rename, fsync of the folder) and only ever moved forward,
under a file lock so that several processes on one host take turns.

The head is written after the commit, so it can lag the chain (a crash between the two) but never
run ahead of it: the verifier accepts rows newer than the head and reports rows missing at or below
it as truncation. Someone with only database access can therefore remove, undetected, only rows newer
than the last head write, which is at most the transaction each process has in flight.

Where it lives: a SQLite database's head sits beside the database file (``<file>.audit-head.json``,
the folder its clinic key is created in by default). A server database's head goes to
``STRIDE_AUDIT_HEAD_DIR`` when set, else beside the clinic key file, as
``<backend>-<host>-<port>-<database>.audit-head.json``; app processes on several hosts must share
that folder (see the README, "Storage, history and audit").
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from data.clinic_key import clinic_key_path, sign, signature_matches

HEAD_SUFFIX = ".audit-head.json"
HEAD_DIR_ENV = "STRIDE_AUDIT_HEAD_DIR"
_FORMAT = "stride-audit-head"


class AuditHeadError(RuntimeError):
    """The head file exists but is unreadable or not signed with this clinic's key."""


@dataclass(frozen=True)
class AuditHead:
    """The newest audit row known to have been committed: its seq and chain hash."""

    seq: int
    hash: str


def audit_head_path(database_url: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the audit head of this database is kept (None for an in-memory SQLite database)."""
    env = os.environ if environ is None else environ
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return None
        db = Path(str(url.database)).resolve()
        return db.with_name(db.name + HEAD_SUFFIX)
    folder = Path(env[HEAD_DIR_ENV]) if env.get(HEAD_DIR_ENV) else clinic_key_path(database_url, env).parent
    ident = "-".join(str(part) for part in (url.get_backend_name(), url.host, url.port, url.database))
    return folder / (re.sub(r"[^A-Za-z0-9._-]", "_", ident) + HEAD_SUFFIX)


def _message(seq: int, hash_: str) -> bytes:
    return f"{_FORMAT}:v1:{seq}:{hash_}".encode()


def read_head(path: Path | None, key: bytes) -> AuditHead | None:
    """The head recorded at `path` (None when there is none); AuditHeadError when it is not authentic."""
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seq, hash_, mac = int(data["seq"]), str(data["hash"]), str(data["mac"])
    except (OSError, ValueError, KeyError, TypeError):
        raise AuditHeadError(f"the audit head at {path} cannot be read") from None
    if data.get("format") != _FORMAT or not signature_matches(key, _message(seq, hash_), mac):
        raise AuditHeadError(f"the audit head at {path} is not signed with this clinic's key")
    return AuditHead(seq, hash_)


def write_head(path: Path, key: bytes, head: AuditHead) -> None:
    """Replace the head file atomically and durably with `head` (the caller holds head_lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "format": _FORMAT,
        "seq": head.seq,
        "hash": head.hash,
        "mac": sign(key, _message(head.seq, head.hash)),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps(body, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    # The rename itself must survive a power cut: sync the folder entry.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def head_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on the head (a lock file beside it): read-compare-write is never interleaved."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
