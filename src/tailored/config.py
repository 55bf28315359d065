"""One typed settings object, built once at start-up and passed down.

Each setting comes from, highest first: a command-line option (``--db``), the environment
(``TAILORED_<NAME>``), the settings file (``tailored.toml`` or ``TAILORED_CONFIG``; see
:mod:`tailored.config_file`), its default. ``tailored config`` lists them all, and
docs/configuration.md documents each (a test keeps the two in step).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url

from tailored.config_file import ConfigFileSource
from tailored.errors import InvalidInput

if TYPE_CHECKING:
    from tailored.realtime.webhooks.delivery import DeliveryPolicy

__all__ = ["Settings", "settings_error"]


def settings_error(exc: ValidationError) -> str:
    """One line naming each bad setting, its environment variable and the problem."""
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "?"
        got = f", got {err['input']!r}" if "input" in err and not isinstance(
            err["input"], dict) else ""
        parts.append(f"setting {name} (TAILORED_{name.upper()} or tailored.toml): "
                     f"{err['msg']}{got}")
    return "; ".join(parts)


class Settings(BaseSettings):
    """Tailored's settings; each can be set as ``TAILORED_<NAME>`` in the environment or as
    ``name = value`` in ``tailored.toml``."""

    model_config = SettingsConfigDict(env_prefix="TAILORED_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file sits below the environment, so one variable overrides it for one run.
        return (init_settings, env_settings, ConfigFileSource(settings_cls))

    database_url: str = Field(
        default="sqlite:///tailored.db",
        description="SQLAlchemy URL of the store: sqlite:///PATH or postgresql://...",
    )
    ingest_chunk_size: int = Field(
        default=20_000, ge=1, le=200_000,
        description="Events validated, stitched and committed together in one transaction.",
    )
    max_future_seconds: int = Field(
        default=86_400, ge=0,
        description="How far past the server clock an event's timestamp may lie before it is "
        "rejected (Segment allows a day).",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Folder for trained models, one .npz file a model. Unset: beside a SQLite "
        "database (`<db>.models/`), in the database itself (table trained_models) for "
        "PostgreSQL, so models always live with the data they were trained on.",
    )
    default_model: str | None = Field(
        default=None,
        description="The model `tailored recommend` and the API use unless told; unset, the "
        "model trained last.",
    )
    max_event_bytes: int = Field(
        default=32 * 1024, description="Largest accepted event, as Segment's HTTP API."
    )
    max_batch_bytes: int = Field(
        default=500 * 1024, description="Largest accepted batch request, as Segment's HTTP API."
    )
    analytics_url: str | None = Field(
        default=None,
        description="PostgreSQL URL analytics run on with `--backend postgres`; unset, the "
        "store's own database when it is PostgreSQL.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Web origins whose pages may call the API from a browser (analytics.js), "
        "comma-separated: https://shop.example,https://www.shop.example; * for any. Unset: "
        "none (browsers are refused, server-side SDKs are unaffected).",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            return value
        origins = []
        for raw in value:
            origin = str(raw).strip().rstrip("/")
            parts = urlsplit(origin)
            if origin != "*" and (parts.scheme not in ("http", "https") or not parts.netloc
                                  or parts.path or parts.query or parts.fragment):
                raise ValueError(f"{raw!r} is not an origin: give scheme://host[:port] with "
                                 "no path, e.g. https://shop.example, or *")
            origins.append(origin)
        return origins

    realtime: bool = Field(
        default=True,
        description="Run the real-time stage inside `tailored serve`: publish what it "
        "commits, keep live profiles and segments current in a background thread, fold "
        "every event into the loaded models, deliver webhooks. Off: the server only "
        "ingests and answers; a `tailored worker` (or the next server) catches up.",
    )
    realtime_consumers: Literal["process", "thread"] = Field(
        default="process",
        description="Where `tailored serve` without Redis runs the real-time consumers: "
        "`process`, a `tailored worker` of its own beside it (another core: Python runs one "
        "thread of a process at a time); `thread`, a thread of the server (one process; "
        "requests and consumers take turns). With Redis, and for a store in memory, a "
        "thread.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL (redis://HOST:PORT/DB) for real time across processes: "
        "committed changes go on a Redis stream that every `tailored serve` and `tailored "
        "worker` shares (consumer groups), with broadcasts every process sees. Unset: each "
        "`tailored serve` has a worker process of its own that reads the store's log as it "
        "grows (CLI runs' events included), as `tailored worker` does. Needs the redis extra.",
    )
    redis_stream: str = Field(
        default="tailored", min_length=1, max_length=100,
        description="Prefix of the Redis keys real time uses (<prefix>:changes, "
        "<prefix>:broadcast): stores sharing one Redis need different prefixes.",
    )

    consent_default: Literal["opt-in", "opt-out"] = Field(
        default="opt-in",
        description="What no recorded consent means for a channel: `opt-in`, no message; "
        "`opt-out`, a message unless consent was revoked.",
    )
    public_url: str | None = Field(
        default=None,
        description="Where people reach `tailored serve` from outside (https://t.shop.example): "
        "the links in messages (unsubscribe, opens, clicks) point there. Unset: "
        "http://127.0.0.1:8000, fit for previews only.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs the unsubscribe and tracking links in messages. Unset: one is "
        "generated the first time it is needed and kept in the store; never printed.",
    )

    smtp_url: SecretStr | None = Field(
        default=None,
        description="The SMTP server e-mail goes through: smtp://[user:password@]host[:port] "
        "(STARTTLS when offered, required before a password leaves this machine) or "
        "smtps://... (TLS from the start, port 465). Never printed.",
    )
    mail_from: str | None = Field(
        default=None,
        description="The From address of e-mail (shop@example.com or 'Shop <shop@example.com>');"
        " its domain names the Message-IDs.",
    )
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600,
        description="How long the SMTP server has to answer before a try counts as failed.",
    )
    vapid_private_key: SecretStr | None = Field(
        default=None,
        description="The VAPID key web push is signed with: a P-256 private key, PEM or the "
        "base64url raw form. Unset: one is generated the first time it is needed and kept in "
        "the store; never printed. Changing it orphans every browser's subscription.",
    )
    vapid_subject: str | None = Field(
        default=None,
        description="Who push services contact about our pushes: mailto:ops@shop.example or an "
        "https:// URL. Unset: mailto: and mail_from; with neither, push is not sent.",
    )
    send_rate: float = Field(
        default=0.0, ge=0,
        description="At most this many messages a second per channel (0: as fast as the "
        "channel takes them).",
    )
    message_max_attempts: int = Field(
        default=8, ge=1, le=100,
        description="Tries of a message that fails for a temporary reason (4xx, server down) "
        "before it is marked failed; the wait doubles from 30 s, at most an hour.",
    )
    send_attempts_inline: int = Field(
        default=3, ge=1, le=10,
        description="Tries `campaign send` makes itself (1 s, then 2 s apart) before it "
        "leaves a failing message to `tailored worker` and reports it failed.",
    )
    overdue_hours: float = Field(
        default=24.0, gt=0,
        description="A campaign message due longer ago than this (the worker was down) is "
        "cancelled, not sent late; transactional messages are always sent.",
    )
    frequency_caps: str | None = Field(
        default=None,
        description="At most N messages per person in a window, per channel or over all: "
        "`email=2/1d,push=3/1d,all=5/7d`. Transactional campaigns are exempt. Unset: no cap.",
    )
    quiet_hours: str | None = Field(
        default=None,
        description="No message in these local hours of the person (`21:00-08:00`, their "
        "time zone from context.timezone): held and sent when the window ends. Unset: none.",
    )
    quiet_hours_timezone: str = Field(
        default="UTC",
        description="The time zone quiet hours use for a person whose events never said "
        "theirs (an IANA name).",
    )
    inbox_token_minutes: float = Field(
        default=60.0, gt=0, le=60 * 24 * 30,
        description="How long a per-person in-app inbox token works.",
    )

    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=120,
        description="How long a webhook receiver has to answer a delivery before the try "
        "counts as failed.",
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=100,
        description="Tries of a webhook delivery before it is parked (shown by `tailored "
        "webhook list`).",
    )
    webhook_backoff_seconds: float = Field(
        default=1.0, gt=0, le=3600,
        description="Wait before a webhook delivery's second try; doubled after each "
        "failure, at most 10 minutes.",
    )

    def webhook_policy(self) -> DeliveryPolicy:
        """The webhooks' delivery policy these settings give."""
        from tailored.realtime.webhooks.delivery import DeliveryPolicy

        return DeliveryPolicy(timeout_seconds=self.webhook_timeout_seconds,
                              max_attempts=self.webhook_max_attempts,
                              backoff_seconds=self.webhook_backoff_seconds)

    @field_validator("frequency_caps")
    @classmethod
    def _check_caps(cls, value: str | None) -> str | None:
        from tailored.campaigns.respect import parse_caps

        try:
            parse_caps(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str | None) -> str | None:
        from tailored.campaigns.respect import parse_quiet_hours

        try:
            parse_quiet_hours(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("quiet_hours_timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (Europe/Paris, UTC)"
                             ) from None
        return value

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str | None) -> str | None:
        from email.utils import parseaddr

        if value is None or not value.strip():
            return None
        if "@" not in parseaddr(value)[1]:
            raise ValueError(f"{value!r} is not an e-mail address (shop@example.com or "
                             "'Shop <shop@example.com>')")
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        url = value.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
                or parts.fragment:
            raise ValueError(f"{value!r} is not a base URL: give http(s)://host[:port][/path],"
                             " e.g. https://t.shop.example")
        return url

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        scheme = urlsplit(value.strip()).scheme
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError("not a Redis URL: give redis://HOST:PORT/DB, rediss://... or "
                             "unix://PATH")
        return value.strip()

    snapshot_dir: Path | None = Field(
        default=None,
        description="Folder of the store's Parquet snapshot that analytics, segment and "
        "prediction commands read, kept and brought up to date between runs (only what "
        "changed is written). Unset: beside a SQLite store (store.db → store-snapshot), "
        "else a folder named after the database under the user's cache folder.",
    )

    datasets: Path | None = Field(
        default=None,
        description="Folder of the shared public data sets (chinese-reviews/, ml-100k/, ...): "
        "where `analyze sentiment-train` finds its default training file. Unset: give --data.",
    )

    def store_snapshot_dir(self) -> Path:
        """Where the store's own snapshot is kept (``snapshot_dir``, or its default)."""
        if self.snapshot_dir is not None:
            return self.snapshot_dir
        url = self.database_url
        if url.startswith("sqlite:///") and ":memory:" not in url:
            db = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
            return db.with_name(f"{db.stem}-snapshot")
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        return cache / "tailored" / "snapshots" / digest

    def models_folder(self) -> Path | None:
        """Where trained models are kept as files: ``models_dir``, else ``<db>.models``
        beside a SQLite database; None when they live in the database (PostgreSQL)."""
        if self.models_dir is not None:
            return self.models_dir
        url = make_url(self.database_url)
        database = url.database or ""
        if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or \
                database.startswith("file:"):
            return None
        return Path(database).expanduser().resolve().with_name(Path(database).name + ".models")
