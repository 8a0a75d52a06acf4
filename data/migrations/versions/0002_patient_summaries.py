"""Patient summaries: the caseload's derived values, kept current by the store.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_summaries",
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("last_visit_date", sa.Date(), nullable=True),
        sa.Column("n_visits", sa.Integer(), nullable=False),
        sa.Column("nrs_count", sa.Integer(), nullable=False),
        sa.Column("walk_count", sa.Integer(), nullable=False),
        sa.Column("first_nrs", sa.Integer(), nullable=True),
        sa.Column("latest_nrs", sa.Integer(), nullable=True),
        sa.Column("latest_odi_percent", sa.Float(), nullable=True),
        sa.Column("walk_protocol", sa.String(length=24), nullable=True),
        sa.Column("first_walk_primary", sa.Float(), nullable=True),
        sa.Column("latest_walk_primary", sa.Float(), nullable=True),
        sa.Column("open_tier", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_summaries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_summaries")),
    )
    # Existing databases: the store fills the table when it opens (meta key summary_version).


def downgrade() -> None:
    op.drop_table("patient_summaries")
