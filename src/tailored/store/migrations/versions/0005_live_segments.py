"""live segments: when a segment went live, and each person's next due time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tailored.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("live_since", UTCDateTime(), nullable=True))
    op.create_table(
        "segment_due",
        sa.Column("segment", sa.String(length=128), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("segment", "profile_id", name=op.f("pk_segment_due")),
    )
    with op.batch_alter_table("segment_due", schema=None) as batch_op:
        batch_op.create_index("ix_segment_due_due_at", ["due_at"], unique=False)
        batch_op.create_index("ix_segment_due_profile_id", ["profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("segment_due", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_due_profile_id")
        batch_op.drop_index("ix_segment_due_due_at")
    op.drop_table("segment_due")
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_column("live_since")
