"""Domain summaries: the caseload row is what dashboard.summaries computes (change labels, not improving).

Adds the columns of the domain summary (first ODI, the judge_change label of pain, ODI and walking,
not improving) and recomputes every patient's summary with the domain function. Summaries are
derived data: recomputing them loses nothing. The table shapes this migration reads and writes are
frozen here, so later schema changes do not change what it did; the store recomputes again on
opening whenever its SUMMARY_VERSION differs from the one written here.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The summary version these rows have (dashboard.summaries.SUMMARY_VERSION when this was written).
SUMMARY_VERSION_0006 = "2"
NEW_COLUMNS = ("first_odi_percent", "pain_change", "odi_change", "walk_change", "not_improving")
_TIER_RANK = {"NONE": 0, "ROUTINE_REVIEW": 1, "URGENT": 2, "EMERGENCY": 3}

_patients = sa.table("patients", sa.column("id", sa.String()))
_visits = sa.table(
    "visits",
    sa.column("patient_id", sa.String()),
    sa.column("visit_date", sa.Date()),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("archived", sa.Boolean()),
    sa.column("data", sa.JSON()),
)
_escalations = sa.table(
    "escalations",
    sa.column("patient_id", sa.String()),
    sa.column("tier", sa.String()),
    sa.column("status", sa.String()),
    sa.column("archived", sa.Boolean()),
)
_SUMMARY_COLUMNS = (
    "patient_id",
    "last_visit_date",
    "n_visits",
    "nrs_count",
    "walk_count",
    "first_nrs",
    "latest_nrs",
    "latest_odi_percent",
    "walk_protocol",
    "first_walk_primary",
    "latest_walk_primary",
    "open_tier",
    *NEW_COLUMNS,
)
_summaries = sa.table("patient_summaries", *(sa.column(name) for name in _SUMMARY_COLUMNS))
_meta = sa.table("meta", sa.column("key", sa.String()), sa.column("value", sa.Text()))


def _recompute(conn: sa.Connection) -> None:
    from dashboard.summaries import patient_summary, summary_visit

    visits: dict[str, list[Any]] = defaultdict(list)
    live = _visits.c.archived.is_(False)
    for row in conn.execute(sa.select(_visits).where(live)):
        visits[row.patient_id].append(summary_visit(row.visit_date, row.recorded_at, row.data))
    tiers: dict[str, str] = {}
    open_live = (_escalations.c.status == "open") & _escalations.c.archived.is_(False)
    for row in conn.execute(sa.select(_escalations.c.patient_id, _escalations.c.tier).where(open_live)):
        if _TIER_RANK.get(row.tier, 0) > _TIER_RANK.get(tiers.get(row.patient_id, "NONE"), 0):
            tiers[row.patient_id] = row.tier
    rows = []
    for (patient_id,) in conn.execute(sa.select(_patients.c.id)):
        summary = patient_summary(
            patient_id, visits.get(patient_id, []), open_tier=tiers.get(patient_id, "NONE")
        )
        stored = summary.stored()
        rows.append({name: stored[name] for name in _SUMMARY_COLUMNS})
    conn.execute(sa.delete(_summaries))
    for start in range(0, len(rows), 2000):
        conn.execute(sa.insert(_summaries), rows[start : start + 2000])
    conn.execute(sa.delete(_meta).where(_meta.c.key == "summary_version"))
    conn.execute(sa.insert(_meta).values(key="summary_version", value=SUMMARY_VERSION_0006))


def upgrade() -> None:
    with op.batch_alter_table("patient_summaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_odi_percent", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("pain_change", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("odi_change", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("walk_change", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("not_improving", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _recompute(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("patient_summaries", schema=None) as batch_op:
        for name in reversed(NEW_COLUMNS):
            batch_op.drop_column(name)
    # The version-1 summaries are recomputed by the older store when it next opens.
    op.get_bind().execute(sa.delete(_meta).where(_meta.c.key == "summary_version"))
