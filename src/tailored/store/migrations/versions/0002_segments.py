"""segments and segment membership with history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tailored.store.types import JSONDoc, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("definition", JSONDoc, nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_segments")),
    )
    op.create_table(
        "segment_membership",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("segment", sa.String(length=128), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("entered_at", UTCDateTime(), nullable=False),
        sa.Column("left_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_membership")),
    )
    with op.batch_alter_table("segment_membership", schema=None) as batch_op:
        batch_op.create_index(
            "ix_segment_membership_segment_left_at", ["segment", "left_at"], unique=False)
        batch_op.create_index(
            "ix_segment_membership_profile_id", ["profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("segment_membership", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_membership_profile_id")
        batch_op.drop_index("ix_segment_membership_segment_left_at")
    op.drop_table("segment_membership")
    op.drop_table("segments")
