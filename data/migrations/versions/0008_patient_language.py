"""The patient's handout language: a BCP 47 tag, "en" for every existing patient (issue 23).

The tag is kept in the patient's JSON too (dashboard.models.Patient.language); a patient stored
before this revision reads as "en".

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("language", sa.String(length=35), nullable=False, server_default="en"))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+ and PostgreSQL): batch mode would rebuild `patients`, which
    # the foreign keys of visits, screenings and escalations refuse while they are enforced.
    op.drop_column("patients", "language")
