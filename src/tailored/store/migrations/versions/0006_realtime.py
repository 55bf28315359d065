"""real time: consumer positions, parked failures and live profiles

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tailored.store.types import JSONDoc, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "realtime_positions",
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_pos", sa.BigInteger(), nullable=False),
        sa.Column("event_seen", JSONDoc, nullable=False),
        sa.Column("merge_pos", sa.BigInteger(), nullable=False),
        sa.Column("events_handled", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_realtime_positions")),
    )
    op.create_table(
        "realtime_parked",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.String(length=256), nullable=True),
        sa.Column("profile_id", sa.String(length=36), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("parked_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_parked")),
    )
    op.create_index(op.f("ix_realtime_parked_consumer"), "realtime_parked", ["consumer"])
    op.create_table(
        "live_profiles",
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("state", JSONDoc, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_live_profiles")),
    )


def downgrade() -> None:
    op.drop_table("live_profiles")
    op.drop_index(op.f("ix_realtime_parked_consumer"), table_name="realtime_parked")
    op.drop_table("realtime_parked")
    op.drop_table("realtime_positions")
