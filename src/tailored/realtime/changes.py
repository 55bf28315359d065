"""What the real-time stage hears: one :class:`Change` per committed ingestion chunk.

A change carries ids only, never personal values (no traits, e-mails or names): the store
ids and messageIds of the events that landed with the profile each landed on, the chunk's
merges and relinks (loser or old holder, then survivor or new holder) and, from an erasure,
the profile ids that are gone. Consumers read what they need from the store by those ids, so
a change can travel through Redis in clear.

Ingestion publishes through a :class:`Publisher` it is given (the seam); the default
publishes nothing, and the next consumer that starts catches up from the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from tailored.errors import InvalidInput

__all__ = ["Change", "NullPublisher", "Publisher"]


@dataclass(frozen=True, slots=True)
class Change:
    """One committed chunk (or one erasure), as ids."""

    #: ``(message_id, profile_id)`` of each new event, in store order.
    events: tuple[tuple[str, str], ...] = ()
    #: The events' store ids (``events.id``), in the same order; empty when not known.
    event_ids: tuple[int, ...] = ()
    #: ``(from_profile, into_profile)`` of each merge and relink the chunk made.
    merges: tuple[tuple[str, str], ...] = ()
    #: The merges' store ids (``merges.id``), in the same order; empty when not known.
    merge_ids: tuple[int, ...] = ()
    #: Profile ids an erasure removed.
    erased: tuple[str, ...] = ()
    #: Set on a change that only asks consumers to catch up from the store (a publisher
    #: that missed changes while Redis was away says so this way).
    resync: bool = field(default=False)

    @property
    def profile_ids(self) -> set[str]:
        """Every profile id the change names."""
        ids = {pid for _, pid in self.events}
        ids.update(p for pair in self.merges for p in pair)
        ids.update(self.erased)
        return ids

    def __bool__(self) -> bool:
        return bool(self.events or self.merges or self.erased or self.resync)

    def to_json(self) -> bytes:
        return orjson.dumps({"events": self.events, "event_ids": self.event_ids,
                             "merges": self.merges, "merge_ids": self.merge_ids,
                             "erased": self.erased, "resync": self.resync})

    @classmethod
    def from_json(cls, data: bytes | str) -> Change:
        """A change as :meth:`to_json` wrote it; :class:`InvalidInput` for anything else."""
        try:
            doc: Any = orjson.loads(data)
            return cls(
                events=tuple((str(m), str(p)) for m, p in doc.get("events", ())),
                event_ids=tuple(int(i) for i in doc.get("event_ids", ())),
                merges=tuple((str(a), str(b)) for a, b in doc.get("merges", ())),
                merge_ids=tuple(int(i) for i in doc.get("merge_ids", ())),
                erased=tuple(str(p) for p in doc.get("erased", ())),
                resync=bool(doc.get("resync", False)))
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError) as exc:
            raise InvalidInput(f"not a change: {exc}", field="change") from None

    @classmethod
    def combine(cls, changes: Sequence[Change]) -> Change:
        """Several changes as one (a consumer handles a burst in one transaction)."""
        if len(changes) == 1:
            return changes[0]
        return cls(
            events=tuple(e for c in changes for e in c.events),
            event_ids=tuple(i for c in changes for i in c.event_ids)
            if all(len(c.event_ids) == len(c.events) for c in changes) else (),
            merges=tuple(m for c in changes for m in c.merges),
            merge_ids=tuple(i for c in changes for i in c.merge_ids)
            if all(len(c.merge_ids) == len(c.merges) for c in changes) else (),
            erased=tuple(p for c in changes for p in c.erased),
            resync=any(c.resync for c in changes))


class Publisher(Protocol):
    """Where ingestion and erasure announce what they committed (after the commit)."""

    def publish(self, change: Change) -> None:
        """Announce one committed change; must be cheap and must not raise."""


class NullPublisher:
    """Publishes nothing: the default of a CLI run, whose changes consumers catch up on."""

    def publish(self, change: Change) -> None:
        return None
