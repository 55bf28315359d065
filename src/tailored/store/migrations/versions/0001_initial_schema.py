"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tailored.store.types import JSONDoc, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    counters = op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.bulk_insert(counters, [{"name": "identity_graph", "value": 0}])
    op.create_table(
        "api_keys",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_api_keys")),
    )
    op.create_table(
        "duplicates",
        sa.Column("message_id", sa.String(length=256), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_duplicates")),
    )
    op.create_table(
        "edges",
        sa.Column("src", sa.String(length=512), nullable=False),
        sa.Column("dst", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("src", "dst", "kind", name=op.f("pk_edges")),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=256), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=256), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=512), nullable=True),
        sa.Column("anonymous_id", sa.String(length=512), nullable=True),
        sa.Column("device_id", sa.String(length=512), nullable=True),
        sa.Column("previous_id", sa.String(length=512), nullable=True),
        sa.Column("group_id", sa.String(length=512), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("original_timestamp", UTCDateTime(), nullable=True),
        sa.Column("context", JSONDoc, nullable=False),
        sa.Column("properties", JSONDoc, nullable=False),
        sa.Column("traits", JSONDoc, nullable=False),
        sa.Column("integrations", JSONDoc, nullable=False),
        sa.Column("extra", JSONDoc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("message_id", name=op.f("uq_events_message_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_profile_id_timestamp", ["profile_id", "timestamp"], unique=False
        )

    op.create_table(
        "identities",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name=op.f("pk_identities")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identities_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "items",
        sa.Column("item_id", sa.String(length=256), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("category", JSONDoc, nullable=False),
        sa.Column("brand", sa.String(length=256), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("tags", JSONDoc, nullable=False),
        sa.Column("attributes", JSONDoc, nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_items")),
    )
    op.create_table(
        "merges",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("from_profile", sa.String(length=36), nullable=False),
        sa.Column("into_profile", sa.String(length=36), nullable=False),
        sa.Column("identity_kind", sa.String(length=16), nullable=False),
        sa.Column("identity_value", sa.String(length=512), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=256), nullable=False),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merges")),
    )
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merges_from_profile"), ["from_profile"], unique=False)
        batch_op.create_index(batch_op.f("ix_merges_into_profile"), ["into_profile"], unique=False)

    op.create_table(
        "profiles",
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=512), nullable=True),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        sa.Column("traits", JSONDoc, nullable=False),
        sa.Column("trait_times", JSONDoc, nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=True),
        sa.Column("last_seen", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_profiles")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_merged_into"), ["merged_into"], unique=False)


def downgrade() -> None:
    op.drop_table("counters")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_merged_into"))

    op.drop_table("profiles")
    with op.batch_alter_table("merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merges_into_profile"))
        batch_op.drop_index(batch_op.f("ix_merges_from_profile"))

    op.drop_table("merges")
    op.drop_table("items")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_profile_id"))

    op.drop_table("identities")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_profile_id_timestamp")

    op.drop_table("events")
    op.drop_table("edges")
    op.drop_table("duplicates")
    op.drop_table("api_keys")
