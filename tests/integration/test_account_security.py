"""Account security against the real store (SQLite and PostgreSQL): rights re-read from the stored
account, sessions ended by an admin's change, login throttling by client and account, the password
policy wherever a password is set, and the break-glass unlock command.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from dashboard import auth, services
from dashboard.config import Settings
from dashboard.ports import InvalidInputError, LoginThrottledError, PermissionDeniedError, User
from data import users
from data.migrate import alembic_config
from data.store import make_engine, open_store
from tests.integration.support import PASSWORD, Team, audit_rows, counts, make_team, make_user, patient_values

T0 = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
ATTACKER = "203.0.113.66"
OWNER_DESK = "192.0.2.10"


@pytest.fixture
def team(store: Any) -> Team:
    return make_team(store)


def stored(store: Any, user_id: str) -> User:
    with store.read() as tx:
        user = tx.get_user(user_id)
    assert user is not None
    return user


def fail_until_refused(
    store: Any, username: str, client: str | None, now: dt.datetime, settings: Settings | None = None
) -> tuple[dt.datetime, LoginThrottledError]:
    """Fail with a wrong password (waiting out each delay) until an attempt is refused; the refusal."""
    for _ in range(100):
        try:
            services.authenticate(
                store, username, "wrong-guess-123", client=client, settings=settings, now=now
            )
        except LoginThrottledError as refused:
            return now, refused
        except PermissionDeniedError:
            now += dt.timedelta(milliseconds=1)
    raise AssertionError("never throttled")


# --- rights come from the stored account -----------------------------------------------------------


def test_a_deactivated_clinician_cannot_archive_a_patient_with_the_user_the_session_holds(
    store: Any, team: Team
) -> None:
    patient = services.register_patient(store, team.clinician, patient_values())
    session_user = team.clinician  # what the browser tab keeps in st.session_state
    services.admin_update_user(store, team.admin, team.clinician.id, active=False)
    before = counts(store)

    with pytest.raises(PermissionDeniedError) as caught:
        services.set_patient_archived(
            store, session_user, patient.id or "", archived=True, reason="Discharged"
        )

    assert str(caught.value) == services.ACCOUNT_CHANGED
    assert counts(store) == before
    with store.read() as tx:
        assert tx.get_patient(patient.id or "").archived is False  # type: ignore[union-attr]


def test_a_demoted_admin_cannot_create_users(store: Any, team: Team) -> None:
    second_admin = make_user(store, "ada", "admin", "Ada Admin")
    services.admin_update_user(store, team.admin, second_admin.id, role="clinician")
    before = counts(store)

    for claim in (second_admin, stored(store, second_admin.id)):  # the old session, and a fresh login
        with pytest.raises(PermissionDeniedError):
            services.create_user(
                store,
                claim,
                username="eve",
                display_name="Eve",
                role="admin",
                password="a-good-long-passphrase",
            )
    assert counts(store) == before


def test_a_display_name_over_200_characters_gets_a_field_message_and_creates_nothing(
    store: Any, team: Team
) -> None:
    # The admin page no longer cuts the name short in the browser (issue 19): the service refuses it.
    before = counts(store)
    with pytest.raises(InvalidInputError) as refused:
        services.create_user(
            store,
            team.admin,
            username="wide",
            display_name="L" * 201,
            role="clinician",
            password="a-good-long-passphrase",
        )
    assert refused.value.errors == {"display_name": "Keep the display name to 200 characters."}
    assert counts(store) == before


def test_the_role_is_read_from_the_store_not_from_the_users_claim(store: Any, team: Team) -> None:
    claims_admin = User(**{**team.readonly.__dict__, "role": "admin"})

    with pytest.raises(PermissionDeniedError) as caught:
        services.list_users(store, claims_admin)
    with pytest.raises(PermissionDeniedError):
        services.register_patient(store, claims_admin, patient_values())
    assert str(caught.value) == services.ROLE_REFUSED


def test_a_role_change_ends_the_session_and_a_new_login_gets_the_new_role(store: Any, team: Team) -> None:
    session_user = services.authenticate(store, "carla", PASSWORD)
    services.admin_update_user(store, team.admin, team.clinician.id, role="readonly")

    assert services.session_account(store, session_user) is None
    fresh = services.authenticate(store, "carla", PASSWORD)
    assert services.session_account(store, fresh) == fresh
    assert fresh.role == "readonly"
    assert services.find_patients(store, fresh, "") == []
    with pytest.raises(PermissionDeniedError):
        services.register_patient(store, fresh, patient_values())


def test_an_admin_reset_ends_sessions_and_requires_a_new_password_before_any_work(
    store: Any, team: Team
) -> None:
    session_user = services.authenticate(store, "carla", PASSWORD)
    services.admin_update_user(store, team.admin, team.clinician.id, new_password="temporary-pass-99")
    assert services.session_account(store, session_user) is None

    after_reset = services.authenticate(store, "carla", "temporary-pass-99")
    assert after_reset.must_change_password
    with pytest.raises(PermissionDeniedError) as caught:
        services.find_patients(store, after_reset, "")
    assert str(caught.value) == services.PASSWORD_CHANGE_NEEDED
    with pytest.raises(InvalidInputError) as same:
        services.choose_required_password(store, after_reset, new="temporary-pass-99")
    assert "new" in same.value.errors

    chosen = services.choose_required_password(store, after_reset, new="my-own-quiet-phrase")

    assert not chosen.must_change_password
    assert services.find_patients(store, chosen, "") == []
    assert services.authenticate(store, "carla", "my-own-quiet-phrase").id == team.clinician.id


def test_changing_ones_own_password_ends_the_accounts_other_sessions(store: Any, team: Team) -> None:
    other_tab = services.authenticate(store, "carla", PASSWORD)
    this_tab = services.authenticate(store, "carla", PASSWORD)

    updated = services.change_password(store, this_tab, current=PASSWORD, new="a-good-new-secret")

    assert services.session_account(store, other_tab) is None
    assert services.session_account(store, updated) == updated
    with pytest.raises(PermissionDeniedError):
        services.find_patients(store, other_tab, "")


def test_an_importer_can_require_a_new_password_at_next_login(store: Any, team: Team) -> None:
    services.set_must_change_password(store, None, team.colleague.id)

    user = services.authenticate(store, "bob", PASSWORD)

    assert user.must_change_password
    assert audit_rows(store)[-2].action == "user.update"


# --- login throttling ------------------------------------------------------------------------------


def attack(store: Any, username: str, now: dt.datetime, rounds: int = 40) -> dt.datetime:
    """An attacker guessing from one client, waiting out each delay it earns; the time of its last guess."""
    for _ in range(rounds):
        now, refused = fail_until_refused(store, username, ATTACKER, now)
        now += dt.timedelta(seconds=refused.retry_after_s)
    return fail_until_refused(store, username, ATTACKER, now)[0]


def test_an_attacker_failing_from_one_client_does_not_keep_the_owner_out(store: Any, team: Team) -> None:
    services.authenticate(store, "adam", PASSWORD, client=OWNER_DESK, now=T0)  # the admin's usual desk

    now = attack(store, "adam", T0)

    with pytest.raises(LoginThrottledError) as attacker:  # the attacker's client waits for minutes,
        services.authenticate(store, "adam", PASSWORD, client=ATTACKER, now=now)
    assert attacker.value.retry_after_s == Settings().lockout_min * 60
    # while the owner's usual desk logs in at once.
    assert services.authenticate(store, "adam", PASSWORD, client=OWNER_DESK, now=now).id == team.admin.id


def test_on_a_desk_never_used_before_the_owner_waits_at_most_the_short_account_delay(
    store: Any, team: Team
) -> None:
    now = attack(store, "adam", T0)

    with pytest.raises(LoginThrottledError) as new_desk:
        services.authenticate(store, "adam", PASSWORD, client="192.0.2.99", now=now)

    assert new_desk.value.retry_after_s == Settings().throttle_account_max_s
    later = now + dt.timedelta(seconds=new_desk.value.retry_after_s)
    assert services.authenticate(store, "adam", PASSWORD, client="192.0.2.99", now=later).id == team.admin.id


def test_failures_from_clients_without_an_address_never_delay_anyone_for_long(store: Any, team: Team) -> None:
    # Loopback, or a proxy whose header is not trusted: every client looks the same (None).
    now, longest = T0, 0
    for _ in range(30):
        now, refused = fail_until_refused(store, "adam", None, now)
        longest = max(longest, refused.retry_after_s)
        now += dt.timedelta(seconds=refused.retry_after_s)

    assert longest == Settings().throttle_account_max_s
    assert services.authenticate(store, "bob", PASSWORD, client=None, now=now).id == team.colleague.id


def test_delays_grow_after_each_failure_and_stop_at_the_cap(store: Any, team: Team) -> None:
    settings = Settings(
        lockout_attempts=3, throttle_client_attempts=3, lockout_min=1, throttle_account_max_s=8
    )
    now, delays = T0, []
    for _ in range(9):
        now, refused = fail_until_refused(store, "carla", ATTACKER, now, settings)
        delays.append(refused.retry_after_s)
        assert str(refused) == f"Too many attempts. Try again in about {refused.retry_after_s} " + (
            "second." if refused.retry_after_s == 1 else "seconds."
        )
        now += dt.timedelta(seconds=refused.retry_after_s)

    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    # A refused attempt is not checked: even the right password waits.
    with pytest.raises(PermissionDeniedError):
        services.authenticate(store, "carla", "wrong", client=ATTACKER, settings=settings, now=now)
    with pytest.raises(LoginThrottledError):
        services.authenticate(store, "carla", PASSWORD, client=ATTACKER, settings=settings, now=now)


def test_an_unknown_username_is_throttled_exactly_like_a_real_one(store: Any, team: Team) -> None:
    real = fail_until_refused(store, "carla", "198.51.100.1", T0)
    unknown = fail_until_refused(store, "no.such.person", "198.51.100.2", T0)

    assert (real[0], str(real[1])) == (unknown[0], str(unknown[1]))


def test_the_throttle_is_shared_by_every_app_process(store: Any, team: Team, database_url: str) -> None:
    now, _ = fail_until_refused(store, "carla", ATTACKER, T0)
    second_process = open_store(database_url)
    try:
        with pytest.raises(LoginThrottledError):
            services.authenticate(second_process, "carla", PASSWORD, client=ATTACKER, now=now)
    finally:
        second_process.close()


def test_the_unlock_command_clears_an_accounts_throttle_and_is_audited(
    store: Any, team: Team, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for client in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5"):
        with pytest.raises(PermissionDeniedError):
            services.authenticate(store, "adam", "wrong-guess-123", client=client, now=T0)
    with pytest.raises(LoginThrottledError):
        services.authenticate(store, "adam", PASSWORD, client="198.51.100.9", now=T0)

    assert users.main(["unlock", "adam", "--database-url", database_url]) == 0

    assert "adam" in capsys.readouterr().out
    assert services.authenticate(store, "adam", PASSWORD, client="198.51.100.9", now=T0).id == team.admin.id
    assert "user.unlock" in [row.action for row in audit_rows(store)]


# --- the password policy wherever a password is set ------------------------------------------------


@pytest.mark.parametrize("weak", ["aaaaaaaaaa", "1234567890", "password12"])
def test_common_passwords_are_refused_everywhere_a_password_is_set(
    store: Any, team: Team, weak: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counts(store)
    with pytest.raises(InvalidInputError) as created:
        services.create_user(
            store, team.admin, username="dana", display_name="Dana", role="clinician", password=weak
        )
    with pytest.raises(InvalidInputError) as changed:
        services.change_password(store, team.clinician, current=PASSWORD, new=weak)
    with pytest.raises(InvalidInputError) as reset:
        services.admin_update_user(store, team.admin, team.colleague.id, new_password=weak)
    monkeypatch.setattr("sys.stdin", io.StringIO(weak + "\n"))
    cli = ["create-admin", "--database-url", database_url, "--username", "lead", "--display-name", "Lead"]
    assert users.main([*cli, "--password-stdin"]) == 1

    assert "password" in created.value.errors and "new" in changed.value.errors
    assert "password" in reset.value.errors
    assert counts(store) == before


# --- migration 0004 --------------------------------------------------------------------------------


def test_migration_0004_keeps_accounts_lifts_old_locks_and_starts_every_epoch_at_zero(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0003")
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, version, recorded_at, updated_at, archived, username,"
                    " display_name, role, password_hash, active, failed_logins, locked_until) VALUES"
                    " ('u1', 1, :now, :now, :false, 'carla', 'Carla', 'clinician', :hash, :true, 5, :later)"
                ),
                {
                    "now": T0,
                    "later": dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10),
                    "hash": auth.hash_password(PASSWORD),
                    "false": False,
                    "true": True,
                },
            )
    finally:
        engine.dispose()

    store = open_store(database_url)
    try:
        user = services.authenticate(store, "carla", PASSWORD)
        assert (user.session_epoch, user.must_change_password, user.locked_until) == (0, False, None)
    finally:
        store.close()


def test_the_migrated_schema_matches_the_table_definitions(store: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from data import tables

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), tables.metadata) == []


def test_the_password_is_checked_while_no_write_transaction_holds_the_lock(
    store: Any, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite the write transaction holds the one write lock: a ~0.1 s hash inside it made logins
    # at once queue behind each other until they were refused as busy.
    writing: list[bool] = []
    checked_while_writing: list[bool] = []
    transaction, verify = store.transaction, auth.verify_password

    class Writing:
        def __init__(self) -> None:
            self.inner = transaction()

        def __enter__(self) -> Any:
            writing.append(True)
            return self.inner.__enter__()

        def __exit__(self, *exc: Any) -> Any:
            writing.pop()
            return self.inner.__exit__(*exc)

    def verify_and_note(password_hash: str | None, password: str) -> bool:
        checked_while_writing.append(bool(writing))
        return verify(password_hash, password)

    monkeypatch.setattr(store, "transaction", Writing)
    monkeypatch.setattr(auth, "verify_password", verify_and_note)
    assert services.authenticate(store, "carla", PASSWORD).id == team.clinician.id
    with pytest.raises(PermissionDeniedError):
        services.authenticate(store, "carla", "not the password")
    with pytest.raises(PermissionDeniedError):
        services.authenticate(store, "nobody-of-that-name", PASSWORD)
    assert checked_while_writing == [False, False, False]  # once per attempt, never under the lock


def test_a_password_changed_between_the_check_and_the_write_decides_the_login(
    store: Any, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    transaction = store.transaction
    changed: list[bool] = []

    def change_password_first() -> Any:
        if not changed:  # after the login's first look and its check: another tab changes the password
            changed.append(True)
            with transaction() as tx:
                tx.update_user(
                    tx.get_user(team.clinician.id), password_hash=auth.hash_password("new-quiet-phrase-7")
                )
        return transaction()

    monkeypatch.setattr(store, "transaction", change_password_first)
    with pytest.raises(PermissionDeniedError):
        services.authenticate(store, "carla", PASSWORD)
    assert changed
