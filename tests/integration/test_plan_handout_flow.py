"""The plan page's download flow on a real store: the handout rendered at the click is kept with its plan
and language provenance and audited; a stored copy is handed back byte for byte and audited as an export."""

from __future__ import annotations

from typing import Any

from dashboard import services
from dashboard.config import Settings
from dashboard.handout_language import choose_handout
from dashboard.plan import Plan
from dashboard.plan_page import give_handout, plan_for, stored_copy
from data.library import load_library
from tests.integration.support import audit_rows, make_team, patient_values, visit_values


def test_a_handout_given_is_stored_with_its_provenance_and_a_copy_is_audited(store: Any) -> None:
    team = make_team(store)
    patient = services.register_patient(store, team.clinician, patient_values())
    pid = patient.id or ""
    services.record_visit(
        store, team.clinician, pid, visit_values(walk_protocol="reported", walk_total_min=10)
    )
    record = services.open_patient(store, team.clinician, pid, audit=False)
    library = load_library()
    plan = plan_for(record, library, Settings(), team.clinician.display_name)
    rendered: list[tuple[Plan, dict[str, Any]]] = []

    def render(printed: Plan, **options: Any) -> bytes:
        rendered.append((printed, options))
        return b"%PDF-1.7 handout"

    pdf = give_handout(
        store,
        team.clinician,
        pid,
        choose_handout(plan, None, None),
        render,
        large_print=True,
        rule_set_version="r1",
        library_version=library.version,
    )
    assert pdf == b"%PDF-1.7 handout"
    [(printed, options)] = rendered
    assert printed == plan
    assert (options["large_print"], options["language"], options["bilingual_with"]) == (True, "en", None)
    [given] = services.open_patient(store, team.clinician, pid, audit=False).handouts
    assert given.pdf == pdf and given.library_version == library.version
    assert given.plan["handout_language"]["layout"] == "single language"
    assert given.plan["patient_ref"] == plan.patient_ref

    assert stored_copy(store, team.clinician, pid, given.pdf) == pdf
    actions = [row.action for row in audit_rows(store)]
    assert actions[-2:] == ["handout.give", "export.handout_copy"]
