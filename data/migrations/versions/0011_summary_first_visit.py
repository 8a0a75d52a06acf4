"""The caseload summary gains the current episode's first visit date (issue 20).

The caseload's "Open > 12 wk, no improvement" needs when each open episode began; reading it from the
visits for every patient made the caseload query several times slower at 10,000 patients, so the
domain's summary (dashboard.summaries) carries it and the store keeps it like the other fields. The
column starts empty; the store recomputes every summary when it next opens (summary version 4).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_meta = sa.table("meta", sa.column("key", sa.String), sa.column("value", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("patient_summaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_visit_date", sa.Date(), nullable=True))
    # Stale until recomputed: the store does so on opening when the version is not its own.
    op.get_bind().execute(sa.delete(_meta).where(_meta.c.key == "summary_version"))


def downgrade() -> None:
    with op.batch_alter_table("patient_summaries", schema=None) as batch_op:
        batch_op.drop_column("first_visit_date")
    op.get_bind().execute(sa.delete(_meta).where(_meta.c.key == "summary_version"))
