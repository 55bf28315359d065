"""The operational schema (SQLAlchemy 2 Core). Alembic migrations create exactly this."""

from __future__ import annotations

import sqlalchemy as sa

from tailored.store.types import JSONDoc, UTCDateTime

__all__ = [
    "api_keys",
    "campaigns",
    "consents",
    "counters",
    "coupons",
    "duplicates",
    "edges",
    "events",
    "history_changes",
    "identities",
    "inbox_messages",
    "item_changes",
    "items",
    "live_profiles",
    "merges",
    "message_templates",
    "metadata",
    "outbox",
    "profiles",
    "push_subscriptions",
    "realtime_parked",
    "realtime_positions",
    "segment_due",
    "segment_membership",
    "segments",
    "store_secrets",
    "suppressions",
    "trained_models",
    "webhook_deliveries",
    "webhooks",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = sa.String(36)
EXTERNAL_ID = sa.String(512)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite rowid needs INTEGER

# One row per person. A profile merged into another keeps its row, pointing at the survivor,
# so an old profile id still finds the person.
profiles = sa.Table(
    "profiles",
    metadata,
    sa.Column("profile_id", ID, primary_key=True),
    # The first user id the profile was identified by; NULL while the person is anonymous.
    sa.Column("user_id", EXTERNAL_ID, nullable=True),
    sa.Column("merged_into", ID, nullable=True, index=True),
    sa.Column("traits", JSONDoc, nullable=False),
    # Event time each trait was last set, for last-write-wins by event time.
    sa.Column("trait_times", JSONDoc, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=True),
    sa.Column("last_seen", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The identity graph's nodes: each points at the canonical profile it belongs to now.
identities = sa.Table(
    "identities",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("value", EXTERNAL_ID, primary_key=True),
    sa.Column("profile_id", ID, nullable=False, index=True),
    # Event time of the latest event that linked this node to its profile.
    sa.Column("linked_at", UTCDateTime, nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(256), nullable=False, unique=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("event", sa.String(256), nullable=True),
    sa.Column("name", sa.String(256), nullable=True),
    sa.Column("profile_id", ID, nullable=False),
    sa.Column("user_id", EXTERNAL_ID, nullable=True),
    sa.Column("anonymous_id", EXTERNAL_ID, nullable=True),
    sa.Column("device_id", EXTERNAL_ID, nullable=True),
    sa.Column("previous_id", EXTERNAL_ID, nullable=True),
    sa.Column("group_id", EXTERNAL_ID, nullable=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("original_timestamp", UTCDateTime, nullable=True),
    sa.Column("context", JSONDoc, nullable=False),
    sa.Column("properties", JSONDoc, nullable=False),
    sa.Column("traits", JSONDoc, nullable=False),
    sa.Column("integrations", JSONDoc, nullable=False),
    # Top-level fields outside the spec, kept as they came.
    sa.Column("extra", JSONDoc, nullable=False),
    # A person's history in time order. No index on time alone: the store answers questions
    # about people, time-wide analytics run on snapshots, and a global time index turned bulk
    # loads of out-of-order history into random writes all over it.
    sa.Index("ix_events_profile_id_timestamp", "profile_id", "timestamp"),
)

# Every duplicate delivery, counted: acknowledged, never stored twice, never hidden.
duplicates = sa.Table(
    "duplicates",
    metadata,
    sa.Column("message_id", sa.String(256), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("last_at", UTCDateTime, nullable=False),
)

# Why profiles were merged (kind "merge") and why a shared device or anonymous id moved to
# another person (kind "relink"): who, when, which event.
merges = sa.Table(
    "merges",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("from_profile", ID, nullable=False, index=True),
    sa.Column("into_profile", ID, nullable=False, index=True),
    sa.Column("identity_kind", sa.String(16), nullable=False),
    sa.Column("identity_value", EXTERNAL_ID, nullable=False),
    sa.Column("cause", sa.String(16), nullable=False),
    sa.Column("message_id", sa.String(256), nullable=False),
    sa.Column("event_time", UTCDateTime, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

items = sa.Table(
    "items",
    metadata,
    sa.Column("item_id", sa.String(256), primary_key=True),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("category", JSONDoc, nullable=False),
    sa.Column("brand", sa.String(256), nullable=True),
    sa.Column("price", sa.Float, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("tags", JSONDoc, nullable=False),
    sa.Column("attributes", JSONDoc, nullable=False),
    sa.Column("image_url", sa.Text, nullable=True),
    sa.Column("available", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

edges = sa.Table(
    "edges",
    metadata,
    sa.Column("src", EXTERNAL_ID, primary_key=True),
    sa.Column("dst", EXTERNAL_ID, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("weight", sa.Float, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    # Only a hash is kept: a leaked database does not leak working keys.
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("name", sa.String(256), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

# Small named counters. "identity_graph" goes up with every committed ingest chunk, so a
# process can tell whether anyone else has written to the graph since it last did.
counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# Named segments: a rule (its JSON document) or a model's output; membership below.
segments = sa.Table(
    "segments",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    # "rule", "lifecycle", or what a model calls its output ("rfm", "cluster", ...).
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("definition", JSONDoc, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=True),
    # Set while the segment is live (kept current after every event; tailored.segments.live):
    # when it went live. Stays from then on have Segment Entered/Exited events.
    sa.Column("live_since", UTCDateTime, nullable=True),
)

# Who is in which segment, with history: a row per stay, closed (left_at) when the person
# leaves; an open row is a current member. Members are canonical profile ids at the time.
segment_membership = sa.Table(
    "segment_membership",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("segment", sa.String(128), nullable=False),
    sa.Column("profile_id", ID, nullable=False),
    sa.Column("entered_at", UTCDateTime, nullable=False),
    sa.Column("left_at", UTCDateTime, nullable=True),
    sa.Index("ix_segment_membership_segment_left_at", "segment", "left_at"),
    sa.Index("ix_segment_membership_profile_id", "profile_id"),
)

# When a live segment's membership of a person could next change by time alone (a window
# that an event leaves, a recency threshold crossed): the worker re-checks the person then.
segment_due = sa.Table(
    "segment_due",
    metadata,
    sa.Column("segment", sa.String(128), primary_key=True),
    sa.Column("profile_id", ID, primary_key=True),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Index("ix_segment_due_due_at", "due_at"),
    sa.Index("ix_segment_due_profile_id", "profile_id"),
)

# Days of stored history that changed in place: events moved to another person by a merge,
# or deleted by an erasure or a purge. New events need no row here (snapshots find them by
# id); these are what a snapshot cannot see by new rows alone. A row is written in the same
# transaction as the change; its id is the store's history marker. day "*" means every day.
history_changes = sa.Table(
    "history_changes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# Trained recommenders of a store kept in the database (PostgreSQL; a SQLite store keeps its
# models in a folder beside the file). `data` is the model's saved .npz, `trained_at` when it
# was fitted (the latest is the default model), `saved_at` when the row last changed (a
# retrain, or an erasure rewriting it) so servers know to reload.
trained_models = sa.Table(
    "trained_models",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("trained_at", UTCDateTime, nullable=False),
    sa.Column("saved_at", UTCDateTime, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# Real time (tailored.realtime). The events and merges tables are the log; these hold how far
# each consumer has read it and what it made of it.
#
# One row per consumer: every event id up to ``event_pos`` is handled, and those in
# ``event_seen`` (closed id intervals above it, handled out of order). ``merge_pos`` and
# ``merge_seen`` are the same for the merges table (null: none above the watermark).
realtime_positions = sa.Table(
    "realtime_positions",
    metadata,
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("event_pos", sa.BigInteger, nullable=False),
    sa.Column("event_seen", JSONDoc, nullable=False),
    sa.Column("merge_pos", sa.BigInteger, nullable=False),
    sa.Column("events_handled", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("merge_seen", JSONDoc, nullable=True),
)

# Work a consumer gave up on after its retries: the event ids (never personal values) and the
# error, shown by `tailored worker status`; the stream went on without it.
realtime_parked = sa.Table(
    "realtime_parked",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("consumer", sa.String(64), nullable=False, index=True),
    sa.Column("event_id", sa.BigInteger, nullable=True),
    sa.Column("message_id", sa.String(256), nullable=True),
    sa.Column("profile_id", ID, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("parked_at", UTCDateTime, nullable=False),
)

# A person's live profile: counters kept current event by event (the document's keys are
# tailored.realtime.live_profile's). Only canonical profiles have a row; a recount from the
# person's events gives the same document.
live_profiles = sa.Table(
    "live_profiles",
    metadata,
    sa.Column("profile_id", ID, primary_key=True),
    sa.Column("state", JSONDoc, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Outgoing webhooks (tailored.realtime.webhooks): where to POST which events. The signing
# secret must be readable to sign, so it is kept through the personal-data codec (stored as
# the codec writes it: in clear with the plain codec, encrypted once the privacy codec is
# configured), never hashed; it is shown once, by `tailored webhook add`.
webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("event_name", sa.String(256), nullable=False),
    sa.Column("segment", sa.String(128), nullable=True),
    sa.Column("secret", sa.Text, nullable=False),
    # Events up to this id were committed before the webhook existed: never sent to it.
    sa.Column("after_event_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The webhooks' outbox: one row per (webhook, event), written before any attempt, so a crash
# never loses a delivery; its id is the X-Tailored-Delivery header, the same on every retry.
# ``body`` holds ids and the event (never traits). status: pending, delivered or parked.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("webhook_id", sa.String(40), nullable=False),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("profile_id", ID, nullable=False, index=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("webhook_id", "event_id"),
    sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

# Campaigns (tailored.campaigns). A message template's parts, checked when saved.
message_templates = sa.Table(
    "message_templates",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Secrets the store keeps for itself, made the first time they are needed (the key that
# signs unsubscribe and tracking links when TAILORED_SECRET_KEY is not set).
store_secrets = sa.Table(
    "store_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The global suppression list: nobody here gets a message on that channel ("all": on any),
# whatever campaign asks. Written by an unsubscribe (and, later, a hard bounce).
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("profile_id", ID, primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("campaign", sa.String(128), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# Consent per person and channel, as recorded (from Segment's context.consent, the CLI or
# the API): the latest by when it was given decides. Rows stay under the profile they were
# recorded for; a person's consent is read over them and every profile merged into them.
consents = sa.Table(
    "consents",
    metadata,
    sa.Column("profile_id", ID, primary_key=True),
    sa.Column("channel", sa.String(16), primary_key=True),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("given_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

# Campaigns: the definition as given (audience, channel, variants, holdout, goal, schedule or
# trigger) in ``spec``; the audience is evaluated each time it is sent, never stored.
campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("spec", JSONDoc, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    # When a scheduled (at a time or cron) campaign is next due; NULL when not scheduled.
    sa.Column("next_run_at", UTCDateTime, nullable=True, index=True),
    sa.Column("last_run_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# The transactional outbox: one row per (campaign, step, person), made before anything is
# sent, so a second send or a re-run after a crash finds it (dedupe_key is unique). A row
# carries the variant the person was assigned (the holdout too: their conversions are the
# baseline), the stable Message-ID written before the SMTP transaction, and its delivery
# state; a sender claims rows with a lease and moves each one on its own when it is sent.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(320), nullable=False, unique=True),
    sa.Column("campaign", sa.String(128), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("profile_id", ID, nullable=False, index=True),
    sa.Column("variant", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("transactional", sa.Boolean, nullable=False),
    # queued, held (quiet hours or a delay: due later), sent, failed, bounced, holdout,
    # cancelled (a trigger's "unless" event came, or consent was withdrawn meanwhile).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("message_id", sa.String(256), nullable=True),
    sa.Column("address", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("trigger_message_id", sa.String(256), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Column("opened_at", UTCDateTime, nullable=True),
    sa.Column("clicked_at", UTCDateTime, nullable=True),
    sa.Column("unsubscribed_at", UTCDateTime, nullable=True),
    sa.Index("ix_outbox_status_due_at", "status", "due_at"),
    sa.Index("ix_outbox_campaign_status", "campaign", "status"),
)

# Web push subscriptions posted by browsers (the PushSubscription JSON), one per endpoint.
push_subscriptions = sa.Table(
    "push_subscriptions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # SHA-256 of the endpoint
    sa.Column("profile_id", ID, nullable=False, index=True),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("p256dh", sa.Text, nullable=False),
    sa.Column("auth", sa.Text, nullable=False),
    sa.Column("user_agent", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
)

# The in-app inbox: messages a person's app reads (GET /v1/inbox/{id}), until they expire.
inbox_messages = sa.Table(
    "inbox_messages",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("profile_id", ID, nullable=False, index=True),
    sa.Column("outbox_id", sa.BigInteger, nullable=True, unique=True),
    sa.Column("campaign", sa.String(128), nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("read_at", UTCDateTime, nullable=True),
)

# Offers: a unique code per person and campaign, redeemed by an Order Completed whose
# ``coupon`` property names it.
coupons = sa.Table(
    "coupons",
    metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("campaign", sa.String(128), nullable=False),
    sa.Column("profile_id", ID, nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("redeemed_at", UTCDateTime, nullable=True),
    sa.Column("order_message_id", sa.String(256), nullable=True),
    sa.UniqueConstraint("campaign", "profile_id"),
)

# Catalogue changes a person may want to hear about: an item back in stock (available again)
# or cheaper. Written as items are upserted; the worker hands each to the campaigns
# triggered by it once (handled_at), reaching the people who viewed the item.
item_changes = sa.Table(
    "item_changes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.String(256), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("old_price", sa.Float, nullable=True),
    sa.Column("new_price", sa.Float, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("handled_at", UTCDateTime, nullable=True, index=True),
)
