"""Episodes of care: every existing patient becomes one open episode holding all their visits (issue 20).

The episode carries the patient's `symptom_onset` and clinician; its referral date is the first
visit's date (None for a patient without visits). Visits gain `episode_id`, in the column and in their
JSON payload.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _payload(data: Any) -> dict[str, Any]:
    return dict(json.loads(data) if isinstance(data, str) else data)


def upgrade() -> None:
    op.create_table(
        "episodes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=True),
        sa.Column("updated_by", sa.String(length=36), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("symptom_onset", sa.Date(), nullable=False),
        sa.Column("discharge_date", sa.Date(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name="fk_episodes_patient_id_patients"),
        sa.PrimaryKeyConstraint("id", name="pk_episodes"),
    )
    op.create_index("ix_episodes_patient_id", "episodes", ["patient_id"])
    op.create_index(
        "uq_episodes_open_per_patient",
        "episodes",
        ["patient_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.add_column("visits", sa.Column("episode_id", sa.String(length=36), nullable=True))
    op.create_index("ix_visits_episode_id", "visits", ["episode_id"])

    conn = op.get_bind()
    patients = sa.table(
        "patients",
        sa.column("id"),
        sa.column("clinician_id"),
        sa.column("recorded_by"),
        sa.column("data", sa.JSON()),
    )
    visits = sa.table(
        "visits",
        sa.column("id"),
        sa.column("patient_id"),
        sa.column("visit_date", sa.Date()),
        sa.column("episode_id"),
        sa.column("data", sa.JSON()),
    )
    episodes = sa.table(
        "episodes",
        *(sa.column(name) for name in ("id", "version", "recorded_by", "updated_by", "archived")),
        sa.column("recorded_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("patient_id"),
        sa.column("status"),
        sa.column("symptom_onset", sa.Date()),
        sa.column("discharge_date", sa.Date()),
        sa.column("data", sa.JSON()),
    )
    first_of = sa.select(visits.c.patient_id, sa.func.min(visits.c.visit_date)).group_by(visits.c.patient_id)
    first_visit = dict(conn.execute(first_of).all())
    now = dt.datetime.now(dt.UTC)
    episode_of: dict[str, str] = {}
    rows = []
    for patient_id, clinician_id, recorded_by, data in conn.execute(sa.select(patients)):
        onset = _payload(data)["symptom_onset"]
        episode_id = str(uuid.uuid4())
        episode_of[patient_id] = episode_id
        referral = first_visit.get(patient_id)
        payload = {
            "patient_id": patient_id,
            "referral_date": str(referral)[:10] if referral else None,  # a date, or SQLite's text
            "symptom_onset": onset,
            "clinician_id": clinician_id,
            "status": "open",
            "discharge_date": None,
            "discharge_reason": None,
            "discharge_note": "",
        }
        rows.append(
            {
                "id": episode_id,
                "version": 1,
                "recorded_at": now,
                "updated_at": now,
                "recorded_by": recorded_by,
                "updated_by": recorded_by,
                "archived": False,
                "patient_id": patient_id,
                "status": "open",
                "symptom_onset": dt.date.fromisoformat(onset),
                "discharge_date": None,
                "data": payload,
            }
        )
    for start in range(0, len(rows), 1000):
        conn.execute(sa.insert(episodes), rows[start : start + 1000])
    # Each visit's payload names its episode too (dashboard.models.Visit.episode_id).
    stored = conn.execute(sa.select(visits.c.id, visits.c.patient_id, visits.c.data)).all()
    for visit_id, patient_id, data in stored:
        episode_id = episode_of[patient_id]
        conn.execute(
            sa.update(visits)
            .where(visits.c.id == visit_id)
            .values(episode_id=episode_id, data={**_payload(data), "episode_id": episode_id})
        )


def downgrade() -> None:
    conn = op.get_bind()
    visits = sa.table("visits", sa.column("id"), sa.column("data", sa.JSON()))
    for visit_id, data in conn.execute(sa.select(visits.c.id, visits.c.data)).all():
        payload = _payload(data)
        payload.pop("episode_id", None)
        conn.execute(sa.update(visits).where(visits.c.id == visit_id).values(data=payload))
    op.drop_index("ix_visits_episode_id", table_name="visits")
    # A plain DROP COLUMN, as in 0008: batch mode would rebuild `visits` against enforced foreign keys.
    op.drop_column("visits", "episode_id")
    op.drop_index("uq_episodes_open_per_patient", table_name="episodes")
    op.drop_index("ix_episodes_patient_id", table_name="episodes")
    op.drop_table("episodes")
