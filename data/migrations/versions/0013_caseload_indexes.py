"""Indexes for the caseload's filters, sorting and paging in SQL (issue 24, 100,000 patients).

New indexes only: no row changes. `SqlTx.caseload_page` counts and sorts every patient that matches
the filters; these covering indexes let it do so without reading a patient's record (its JSON) or
summary row: patients (archived, clinician_id, next_review_date, id) for the active patients, the
clinician filter and choices and the overdue test; patient_summaries (patient_id, open_tier,
not_improving, last_visit_date) for the open-flag and not-improving tests and the "Most urgent" and
"Longest since last visit" orders; episodes (patient_id, discharge_date) for "discharged, and when".

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_patients_caseload", "patients", ["archived", "clinician_id", "next_review_date", "id"]),
    (
        "ix_patient_summaries_caseload",
        "patient_summaries",
        ["patient_id", "open_tier", "not_improving", "last_visit_date"],
    ),
    ("ix_episodes_patient_discharge", "episodes", ["patient_id", "discharge_date"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
