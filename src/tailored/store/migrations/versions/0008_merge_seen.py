"""real time: merges handled out of order, beside the merge watermark

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tailored.store.types import JSONDoc

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null on rows written before: read as "none above the watermark".
    with op.batch_alter_table("realtime_positions") as batch:
        batch.add_column(sa.Column("merge_seen", JSONDoc, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("realtime_positions") as batch:
        batch.drop_column("merge_seen")
