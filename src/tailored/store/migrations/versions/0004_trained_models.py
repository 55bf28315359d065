"""trained models kept in the store (PostgreSQL stores keep their models with their data)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tailored.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trained_models",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("trained_at", UTCDateTime(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_trained_models")),
    )


def downgrade() -> None:
    op.drop_table("trained_models")
