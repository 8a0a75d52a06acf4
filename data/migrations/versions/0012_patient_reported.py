"""The patient's own voice: invites, check-in reports and the walking diary (issue 21).

New tables only: no existing row changes. An invite keeps the SHA-256 of its token, never the token.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_identity_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_invites_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_invites"),
        sa.UniqueConstraint("token_hash", name="uq_invites_token_hash"),
    )
    op.create_index("ix_invites_patient_id", "invites", ["patient_id"])
    op.create_table(
        "patient_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("invite_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("reviewed_visit_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(["invite_id"], ["invites.id"], name="fk_patient_reports_invite_id_invites"),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name="fk_patient_reports_patient_id_patients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_patient_reports"),
        sa.UniqueConstraint("invite_id", name="uq_patient_reports_invite_id"),
    )
    op.create_index("ix_patient_reports_patient_id", "patient_reports", ["patient_id"])
    op.create_table(
        "diary_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("episode_id", sa.String(length=36), nullable=True),
        sa.Column("walk_date", sa.Date(), nullable=False),
        sa.Column("walked_min", sa.Float(), nullable=False),
        sa.Column("symptom_onset_min", sa.Float(), nullable=True),
        sa.Column("pain_before_nrs", sa.Integer(), nullable=False),
        sa.Column("pain_during_nrs", sa.Integer(), nullable=False),
        sa.Column("pain_next_morning_nrs", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invite_id"], ["invites.id"], name="fk_diary_entries_invite_id_invites"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_diary_entries_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_diary_entries"),
    )
    op.create_index("ix_diary_entries_patient_id", "diary_entries", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_diary_entries_patient_id", table_name="diary_entries")
    op.drop_table("diary_entries")
    op.drop_index("ix_patient_reports_patient_id", table_name="patient_reports")
    op.drop_table("patient_reports")
    op.drop_index("ix_invites_patient_id", table_name="invites")
    op.drop_table("invites")
