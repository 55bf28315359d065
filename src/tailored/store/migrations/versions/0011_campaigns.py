"""campaigns: definitions, the outbox, web push subscriptions, the in-app inbox, coupons

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tailored.store.types import JSONDoc, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("spec", JSONDoc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_next_run_at"), "campaigns", ["next_run_at"])
    op.create_table(
        "outbox",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("dedupe_key", sa.String(length=320), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("variant", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("transactional", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("message_id", sa.String(length=256), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("trigger_message_id", sa.String(length=256), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=True),
        sa.Column("clicked_at", UTCDateTime(), nullable=True),
        sa.Column("unsubscribed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index(op.f("ix_outbox_profile_id"), "outbox", ["profile_id"])
    op.create_index("ix_outbox_status_due_at", "outbox", ["status", "due_at"])
    op.create_index("ix_outbox_campaign_status", "outbox", ["campaign", "status"])
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.Text(), nullable=False),
        sa.Column("auth", sa.Text(), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
    )
    op.create_index(op.f("ix_push_subscriptions_profile_id"), "push_subscriptions",
                    ["profile_id"])
    op.create_table(
        "inbox_messages",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("campaign", sa.String(length=128), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_inbox_messages_outbox_id")),
    )
    op.create_index(op.f("ix_inbox_messages_profile_id"), "inbox_messages", ["profile_id"])
    op.create_table(
        "coupons",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=128), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("redeemed_at", UTCDateTime(), nullable=True),
        sa.Column("order_message_id", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_coupons")),
        sa.UniqueConstraint("campaign", "profile_id",
                            name=op.f("uq_coupons_campaign_profile_id")),
    )
    op.create_index(op.f("ix_coupons_profile_id"), "coupons", ["profile_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_coupons_profile_id"), table_name="coupons")
    op.drop_table("coupons")
    op.drop_index(op.f("ix_inbox_messages_profile_id"), table_name="inbox_messages")
    op.drop_table("inbox_messages")
    op.drop_index(op.f("ix_push_subscriptions_profile_id"), table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_outbox_campaign_status", table_name="outbox")
    op.drop_index("ix_outbox_status_due_at", table_name="outbox")
    op.drop_index(op.f("ix_outbox_profile_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_campaigns_next_run_at"), table_name="campaigns")
    op.drop_table("campaigns")
