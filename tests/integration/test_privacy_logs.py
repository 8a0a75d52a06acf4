"""No patient name or reference reaches a log line, stdout/stderr or an exception message.

Everything is captured at DEBUG (caplog on the root logger, so third-party loggers such as
fontTools' and fpdf's are included) plus capsys, through a whole working flow.

SQLAlchemy pins its own "sqlalchemy" logger at WARN, so root DEBUG does not switch SQL logging on; an
operator who raises "sqlalchemy.engine" to INFO to debug SQL gets every bound parameter, which the
last tests check separately.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Iterable
from typing import Any

import pytest

from dashboard import services
from dashboard.models import Patient
from dashboard.ports import DuplicateError, InvalidInputError
from tests.integration.support import (
    PASSWORD,
    license_all_instruments,
    make_team,
    patient_values,
    visit_values,
)

GIVEN, FAMILY, REF = "Zoë", "Łukasz-Müller", "PRIV-0001"
SECRETS = (GIVEN, FAMILY, "Łukasz", "Müller", REF)


def _forms(secret: str) -> set[str]:
    """The ways a secret may be written out: as is, folded, accent-free, decomposed, JSON-escaped."""
    folded = secret.casefold()
    stripped = "".join(
        ch for ch in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(ch)
    ).replace("ł", "l")
    forms = {secret, folded, stripped, unicodedata.normalize("NFD", secret), json.dumps(secret)[1:-1]}
    forms.add(secret.encode("unicode_escape").decode("ascii"))
    return {f for f in forms if len(f) >= 3}


FORMS = sorted({form for secret in SECRETS for form in _forms(secret)})


def _exception_texts(exc: BaseException | None) -> list[str]:
    """The message of an exception and of every exception chained to it."""
    texts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts += [str(exc), repr(exc)]
        if isinstance(exc, InvalidInputError):
            texts += [f"{k}: {v}" for k, v in exc.errors.items()]
        # What a printed traceback shows: the cause, else the context unless `raise ... from None`.
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return texts


def _log_texts(records: Iterable[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = []
    for record in records:
        texts.append(formatter.format(record))  # message, and any traceback (exc_info / stack_info)
        texts.append(repr(record.args))
    return texts


def _leaks(texts: Iterable[str]) -> list[tuple[str, str]]:
    found = []
    for text in texts:
        lowered = text.casefold()
        found += [(form, text[:200]) for form in FORMS if form.casefold() in lowered]
    return found


def test_the_leak_detector_sees_debug_logs_from_any_logger(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("some.library").debug("row %s", {"name": "zoe lukasz-muller"})
    print("PRIV-0001")
    out, err = capsys.readouterr()
    assert _leaks(_log_texts(caplog.records))
    assert _leaks([out, err])


def test_no_patient_name_or_reference_reaches_logs_output_or_exception_messages(
    store: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    raised: list[BaseException] = []
    team = make_team(store)
    license_all_instruments(store, team.admin)
    user = services.authenticate(store, "carla", PASSWORD)
    named = patient_values(patient_ref=REF, given_name=GIVEN, family_name=FAMILY)

    patient = services.register_patient(store, user, named)
    pid = patient.id or ""
    with pytest.raises(InvalidInputError) as invalid_visit:
        services.record_visit(
            store, user, pid, visit_values(pain_nrs=11, notes=f"{GIVEN} {FAMILY} ({REF}) walked to the shop")
        )
    raised.append(invalid_visit.value)
    with pytest.raises(InvalidInputError) as duplicate:
        services.register_patient(store, user, named)
    raised.append(duplicate.value)
    with pytest.raises(InvalidInputError) as bad_patient:
        services.register_patient(store, user, {**named, "patient_ref": f"{REF}-{'x' * 40}", "sex": GIVEN})
    raised.append(bad_patient.value)
    services.record_visit(
        store,
        user,
        pid,
        visit_values(
            pain_nrs=6,
            odi_sections=[2] * 10,
            walk_protocol="spwt",
            walk_onset_min=4.0,
            walk_total_min=7.5,
            leg_pain_on_walking=True,
            relief="sitting_or_flexion",
            symptom_location="buttock_thigh",
            notes=f"{GIVEN} ({REF}) says walking to the bakery is hard",
        ),
    )
    _give_handout(store, user, pid)
    assert [p.id for p in services.find_patients(store, user, "zoe muller")] == [pid]
    services.caseload(store, user)
    services.open_escalations(store, user)
    services.logout(store, user)

    out, err = capsys.readouterr()
    texts = _log_texts(caplog.records) + [caplog.text, out, err]
    texts += [text for exc in raised for text in _exception_texts(exc)]
    assert _leaks(texts) == []


def test_sql_statement_logging_never_shows_patient_values(
    store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    team = make_team(store)
    patient = services.register_patient(
        store, team.clinician, patient_values(patient_ref=REF, given_name=GIVEN, family_name=FAMILY)
    )
    services.find_patients(store, team.clinician, "zoe muller")
    services.open_patient(store, team.clinician, patient.id or "")

    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records)
    assert _leaks(_log_texts(caplog.records)) == []


def test_a_duplicate_caught_by_the_database_shows_no_patient_values_in_its_exception_chain(
    store: Any,
) -> None:
    named = Patient.model_validate(patient_values(patient_ref=REF, given_name=GIVEN, family_name=FAMILY))
    with store.transaction() as tx:
        tx.insert_patient(named)

    with pytest.raises(DuplicateError) as caught, store.transaction() as tx:
        tx.insert_patient(named)  # skips the service's own check, as a concurrent registration would

    assert caught.value.field == "patient_ref"
    assert _leaks(_exception_texts(caught.value)) == []


def _give_handout(store: Any, user: Any, patient_id: str) -> None:
    """Build, render and record the handout the way pages/plan.py does (dummy bytes if unavailable)."""
    try:
        from dashboard.plan import build_plan
        from dashboard.red_flags import rule_set_version
        from data.library import load_library
        from reports.handout import render
    except ImportError:  # pragma: no cover - only before the plan and handout modules exist
        services.record_handout(
            store, user, patient_id, pdf=b"%PDF-1.7\n", plan={}, rule_set_version="x", library_version="x"
        )
        return
    library = load_library()
    record = services.open_patient(store, user, patient_id)
    plan = build_plan(record.patient, record.visits, library, clinician_name=user.display_name)
    pdf = render(plan)
    assert pdf.startswith(b"%PDF")
    services.record_handout(
        store,
        user,
        patient_id,
        pdf=pdf,
        plan=plan.model_dump(mode="json"),
        rule_set_version=rule_set_version(),
        library_version=library.version,
    )


def test_a_patient_link_leaves_no_token_or_patient_data_in_logs_or_messages(
    store: Any, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """The patient's side of a link, good and bad answers alike: no token, name or reference in any log."""
    import datetime as dt

    from dashboard import checkin_services as cs
    from dashboard.config import load_settings

    caplog.set_level(logging.DEBUG)
    settings = load_settings()
    team = make_team(store)
    named = patient_values(patient_ref=REF, given_name=GIVEN, family_name=FAMILY)
    pid = services.register_patient(store, team.clinician, named).saved_id
    services.record_visit(store, team.clinician, pid, visit_values(pain_nrs=5))
    checkin = cs.create_invite(store, team.clinician, pid, "checkin")
    diary = cs.create_invite(store, team.clinician, pid, "diary")
    cs.check_identity(store, checkin.token, dt.date(1999, 1, 1), client="10.1.2.3")
    cs.check_identity(store, checkin.token, named["birth_date"], client="10.1.2.3")
    cs.submit_checkin(store, checkin.token, {"pain_nrs": "eleven", "symptom_saddle": "perhaps"}, settings)
    cs.submit_checkin(store, checkin.token, {"pain_nrs": "6", "symptom_saddle": "yes"}, settings)
    cs.submit_checkin(store, checkin.token, {"pain_nrs": "6"}, settings)  # already sent
    cs.add_diary_entry(store, diary.token, {"walked_min": "x" * 5000}, dt.date.today(), settings)
    cs.add_diary_entry(
        store,
        diary.token,
        {"walked_min": "20", "pain_before_nrs": "2", "pain_during_nrs": "7"},
        dt.date.today(),
        settings,
    )

    out, err = capsys.readouterr()
    texts = _log_texts(caplog.records) + [caplog.text, out, err]
    assert _leaks(texts) == []
    for token in (checkin.token, diary.token):
        assert not [t for t in texts if token in t]
