"""What every channel takes and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tailored.campaigns.templates import Rendered

__all__ = ["Channel", "Outcome", "OutgoingMessage"]


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for one person, rendered, with what identifies it everywhere."""

    outbox_id: int
    campaign: str
    variant: str
    profile_id: str
    address: str | None
    #: Stable across retries and re-runs (made when the outbox row was): a receiver or a
    #: mail client that sees it twice knows it is the same message.
    message_id: str
    rendered: Rendered
    unsubscribe_url: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What became of a message: ``sent`` (the receiving side took it); ``retry`` (a
    temporary failure: 4xx, a refused connection, a timeout); ``failed`` (permanent, for
    this message); ``bounced`` (permanent, for the address: it is suppressed); ``gone``
    (the address no longer exists: an expired push subscription, removed)."""

    status: Literal["sent", "retry", "failed", "bounced", "gone"]
    error: str | None = None


class Channel(Protocol):
    name: str

    def __enter__(self) -> Channel: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, message: OutgoingMessage) -> Outcome: ...
