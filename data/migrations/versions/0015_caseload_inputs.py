"""The caseload's filter and sort inputs in the stored summary row, one index per sort (issue 24).

`patient_summaries` gains the facts of the patient's record (archived, clinician, next review date,
reference, the name's sort key) and episodes (open or discharged, when the open one began, the last
discharge), and two sort keys of the summary itself (the tier's rank, the pain change), copied by the
same writes that keep the summary (data.store.tx_caseload). With them one table answers the caseload
page's filters and order, and each sort order has its own index. Existing rows are backfilled here
from the patients and episodes; the summary version moves to "5" so the store recomputes every row
on opening as well. One more index, `ix_escalations_open`, answers the sidebar's open-flag summary
from index entries alone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Rank of each open-flag tier (dashboard.models.TIER_ORDER at this revision).
_TIER_RANK = {"NONE": 0, "ROUTINE_REVIEW": 1, "URGENT": 2, "EMERGENCY": 3}

_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "ix_summaries_urgent",
        (
            "archived",
            "tier_rank",
            "not_improving",
            "last_visit_date",
            "patient_id",
            "next_review_date",
            "episode_status",
            "clinician_id",
        ),
    ),
    ("ix_summaries_name", ("archived", "name_key", "patient_id")),
    ("ix_summaries_ref", ("archived", "patient_ref", "patient_id")),
    ("ix_summaries_last_visit", ("archived", "last_visit_date", "patient_id")),
    ("ix_summaries_review", ("archived", "next_review_date", "patient_id")),
    ("ix_summaries_nrs_change", ("archived", "nrs_change DESC", "patient_id")),
    ("ix_summaries_odi", ("archived", "latest_odi_percent DESC", "patient_id")),
    ("ix_summaries_episode", ("archived", "episode_status", "discharge_date", "episode_start")),
)

_ESCALATIONS_OPEN = ("status", "tier", "archived", "recorded_at", "id", "patient_id")


def _text(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("patient_summaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("clinician_id", sa.String(36), nullable=True))
        batch_op.add_column(sa.Column("next_review_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("patient_ref", _text(40), nullable=True))
        batch_op.add_column(sa.Column("name_key", _text(400), nullable=True))
        batch_op.add_column(sa.Column("episode_status", sa.String(16), nullable=False, server_default="open"))
        batch_op.add_column(sa.Column("episode_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("discharge_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("tier_rank", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("nrs_change", sa.Integer(), nullable=True))
    _backfill()
    for name, columns in _INDEXES:
        terms = [sa.text(f"{c.removesuffix(' DESC')} DESC") if c.endswith(" DESC") else c for c in columns]
        op.create_index(name, "patient_summaries", terms)
    # The sidebar's open-flag summary: counts per tier and the newest emergencies, index-only.
    op.create_index("ix_escalations_open", "escalations", list(_ESCALATIONS_OPEN))


def _backfill() -> None:
    p = sa.table(
        "patients",
        sa.column("id", sa.String),
        sa.column("archived", sa.Boolean),
        sa.column("clinician_id", sa.String),
        sa.column("next_review_date", sa.Date),
        sa.column("patient_ref", sa.String),
        sa.column("data", sa.JSON),
    )
    ep = sa.table(
        "episodes",
        sa.column("patient_id", sa.String),
        sa.column("status", sa.String),
        sa.column("discharge_date", sa.Date),
        sa.column("data", sa.JSON),
    )
    ps = sa.table(
        "patient_summaries",
        *(
            sa.column(name)
            for name in (
                "patient_id",
                "archived",
                "clinician_id",
                "next_review_date",
                "patient_ref",
                "name_key",
                "episode_status",
                "episode_start",
                "discharge_date",
                "tier_rank",
                "nrs_change",
                "open_tier",
                "nrs_count",
                "latest_nrs",
                "first_nrs",
                "first_visit_date",
            )
        ),
    )
    of_patient = p.c.id == ps.c.patient_id

    def patient(column: sa.ColumnElement[object]) -> sa.ScalarSelect[object]:
        return sa.select(column).where(of_patient).scalar_subquery()

    is_open = sa.exists().where(ep.c.patient_id == ps.c.patient_id, ep.c.status == "open")
    of_episode = ep.c.patient_id == ps.c.patient_id
    last_discharge = sa.select(sa.func.max(ep.c.discharge_date)).where(of_episode).scalar_subquery()
    discharged = sa.and_(~is_open, last_discharge.is_not(None))
    referral = (
        sa.select(ep.c.data["referral_date"].as_string())
        .where(ep.c.patient_id == ps.c.patient_id, ep.c.status == "open")
        .scalar_subquery()
    )
    bind = op.get_bind()
    start: sa.ColumnElement[object] = (
        sa.func.coalesce(sa.cast(referral, sa.Date), ps.c.first_visit_date)
        if bind.dialect.name == "postgresql"
        else sa.func.coalesce(referral, ps.c.first_visit_date)
    )
    name = patient(
        p.c.data["given_name"].as_string() + sa.literal(" ", sa.String) + p.c.data["family_name"].as_string()
    )
    op.execute(
        ps.update().values(
            archived=patient(p.c.archived),
            clinician_id=patient(p.c.clinician_id),
            next_review_date=patient(p.c.next_review_date),
            patient_ref=patient(p.c.patient_ref),
            name_key=name,
            episode_status=sa.case((discharged, "discharged"), else_="open"),
            episode_start=sa.case((discharged, None), else_=start),
            discharge_date=sa.case((discharged, last_discharge), else_=None),
            tier_rank=sa.case(_TIER_RANK, value=ps.c.open_tier, else_=0),
            nrs_change=sa.case((ps.c.nrs_count > 1, ps.c.latest_nrs - ps.c.first_nrs), else_=None),
        )
    )


def downgrade() -> None:
    op.drop_index("ix_escalations_open", table_name="escalations")
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="patient_summaries")
    with op.batch_alter_table("patient_summaries", schema=None) as batch_op:
        for column in (
            "nrs_change",
            "tier_rank",
            "discharge_date",
            "episode_start",
            "episode_status",
            "name_key",
            "patient_ref",
            "next_review_date",
            "clinician_id",
            "archived",
        ):
            batch_op.drop_column(column)
