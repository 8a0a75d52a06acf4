"""The first admin is created from the command line and can then log in."""

import io

import pytest

from dashboard import services
from data import users
from data.store import open_store


def test_create_admin_makes_an_admin_who_can_log_in(database_url, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long admin password\n"))
    code = users.main(
        [
            "create-admin",
            "--database-url",
            database_url,
            "--username",
            "lead",
            "--display-name",
            "Clinic Lead",
            "--password-stdin",
        ]
    )
    assert code == 0
    store = open_store(database_url)
    try:
        user = services.authenticate(store, "lead", "a long admin password")
        assert user.role == "admin"
    finally:
        store.close()


@pytest.mark.parametrize("password", ["short", "lead-and-more-letters"])
def test_create_admin_refuses_a_weak_password_and_creates_nothing(
    database_url, monkeypatch, capsys, password
):
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    code = users.main(
        [
            "create-admin",
            "--database-url",
            database_url,
            "--username",
            "lead",
            "--display-name",
            "Clinic Lead",
            "--password-stdin",
        ]
    )
    assert code == 1
    assert "password" in capsys.readouterr().err
    store = open_store(database_url)
    try:
        with store.read() as tx:
            assert tx.users() == []
    finally:
        store.close()
