"""The patient's check-in on the clinician's side: the report a new visit reviews (clinical-reference
§12.1) and its link to the visit that reviewed it. The report itself is never edited.
"""

from __future__ import annotations

from collections.abc import Sequence

from dashboard.patient_reported import PatientReport
from dashboard.ports import InvalidInputError, Store, Tx, User
from dashboard.service_base import _audit, _existing_patient, authorize

REPORT_REFUSED = "This check-in is not one of this patient's open check-ins: reopen the visit form."


def latest_unreviewed(reports: Sequence[PatientReport], episode_id: str | None) -> PatientReport | None:
    """The newest check-in of the episode that no visit has reviewed yet; None when there is none."""
    pending = [r for r in reports if r.reviewed_visit_id is None and r.episode_id == episode_id]
    return max(pending, key=lambda r: r.submitted_at, default=None)


def pending_report(store: Store, actor: User, patient_id: str) -> PatientReport | None:
    """The check-in the next visit of the open episode reviews, None without an open episode or report.

    Read with the patient's record on the visit page, whose opening is audited there (like
    `open_patient(audit=False)`), so this read writes no audit entry of its own.
    """
    with store.read() as tx:
        authorize(tx, actor, "read")
        _existing_patient(tx, patient_id)
        episode = tx.open_episode(patient_id)
        return None if episode is None else latest_unreviewed(tx.patient_reports(patient_id), episode.id)


def link_reviewed_report(
    tx: Tx, actor: User, patient_id: str, episode_id: str | None, report_id: str, visit_id: str
) -> None:
    """Link a check-in to the visit that reviewed it, in the visit's transaction, and audit it.

    Refused (InvalidInputError, so the whole save rolls back) for another patient's check-in or another
    episode's. A check-in another visit reviewed while this form was open keeps its first link: this
    visit's values were confirmed by its own clinician all the same.
    """
    report = next((r for r in tx.patient_reports(patient_id) if r.id == report_id), None)
    if report is None or report.episode_id != episode_id:
        raise InvalidInputError({"_": REPORT_REFUSED})
    if tx.mark_report_reviewed(report_id, visit_id):
        _audit(
            tx,
            actor,
            "patient_report.reviewed",
            "patient_report",
            report_id,
            patient_id,
            after={"visit_id": visit_id},
        )
