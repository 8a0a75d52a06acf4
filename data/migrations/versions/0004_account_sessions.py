"""Account sessions and login throttling: a per-user session epoch, a must-change-password flag, and a
shared table of login failures by client and by account.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_index("ix_login_throttle_last_at", "login_throttle", ["last_at"])
    # The old hard lock is replaced by throttling: lift any lock still running.
    op.execute(sa.text("UPDATE users SET failed_logins = 0, locked_until = NULL"))


def downgrade() -> None:
    op.drop_index("ix_login_throttle_last_at", table_name="login_throttle")
    op.drop_table("login_throttle")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
        batch.drop_column("session_epoch")
