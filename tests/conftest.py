"""Shared test fixtures: Hypothesis profiles, a fresh database per test, a store, PDF text.

The clinic key and the audit heads of the test databases live in one temporary folder per test
session (STRIDE_CLINIC_KEY_FILE, STRIDE_AUDIT_HEAD_DIR, unless already set): every test database,
SQLite or PostgreSQL, and every app process a test starts share that key, and the checkout's var/
is never touched. A SQLite database's head still sits beside its file.

`database_url` runs a test once on SQLite and once on PostgreSQL. The PostgreSQL case needs
STRIDE_TEST_POSTGRES_URL (scripts/run-tests starts a throwaway cluster and sets it); without it
the case is skipped locally and fails under CI=true.

Import helpers with `from tests.conftest import ROOT, pdf_text`; factories live in
tests/factories.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, settings

import server  # noqa: F401  the tests run Streamlit as server.py changes it (kept downloads, keyed state)

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_URL_ENV = "STRIDE_TEST_POSTGRES_URL"

settings.register_profile("ci", max_examples=50, deadline=None, print_blob=True, database=None)
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))


_KEY_FOLDER: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Point the clinic key and the audit heads at a session folder (removed at the end)."""
    global _KEY_FOLDER
    _KEY_FOLDER = tempfile.mkdtemp(prefix="stride-test-keys-")
    os.environ.setdefault("STRIDE_CLINIC_KEY_FILE", os.path.join(_KEY_FOLDER, "clinic.key"))
    os.environ.setdefault("STRIDE_AUDIT_HEAD_DIR", os.path.join(_KEY_FOLDER, "audit-heads"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _KEY_FOLDER is not None:
        shutil.rmtree(_KEY_FOLDER, ignore_errors=True)


def missing_requirement(reason: str) -> NoReturn:
    """Fail under CI (where every test must run), skip locally."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must not be skipped)", pytrace=False)
    pytest.skip(reason)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _libpq_url(url: str) -> str:
    """The SQLAlchemy URL (postgresql+psycopg://...) in the form psycopg itself accepts."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLAlchemy URL naming a fresh, empty database, dropped after the test."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@contextmanager
def fresh_database(kind: str, folder: Path, name: str = "stride") -> Iterator[str]:
    """A fresh, empty database of `kind` ("sqlite" in `folder`, or "postgresql"), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/{name}.sqlite3"
        return
    admin_url = os.environ.get(POSTGRES_URL_ENV)
    if not admin_url:
        missing_requirement(f"{POSTGRES_URL_ENV} is not set (scripts/run-tests sets it)")
    import psycopg

    database = f"stride_t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        yield _with_database(admin_url, database)
    finally:
        with psycopg.connect(_libpq_url(admin_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def store(database_url: str) -> Iterator[Any]:
    """The application's store on a fresh database (SQLite and PostgreSQL), closed afterwards."""
    from data.store import open_store

    s = open_store(database_url)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def target_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh, empty database of the same kind as `database_url`, dropped afterwards."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with fresh_database(kind, tmp_path, name="target") as url:
        yield url


@pytest.fixture
def target(target_url: str) -> Iterator[Any]:
    """The store on `target_url` (an import's destination), closed afterwards."""
    from data.store import open_store

    s = open_store(target_url)
    try:
        yield s
    finally:
        s.close()


def pdf_text(pdf: str | os.PathLike[str] | bytes | bytearray) -> str:
    """The text of a PDF (file path or bytes) as `pdftotext -layout` extracts it, UTF-8."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.fail("pdftotext is missing: run scripts/ensure-system-packages (poppler-utils)")
    if isinstance(pdf, bytes | bytearray):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "doc.pdf"
            path.write_bytes(bytes(pdf))
            return pdf_text(path)
    result = subprocess.run(
        [exe, "-layout", "-enc", "UTF-8", os.fspath(pdf), "-"],
        capture_output=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(f"pdftotext failed ({result.returncode}): {result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8")
