"""What every data source yields: records to write and rows it had to reject.

A source is an iterator of :class:`SourceRecord` and :class:`SourceError`, and of
:class:`SourceSkip` for rows it leaves out on purpose (bookkeeping entries that are not
anything a customer did), which the import report counts by kind. Sources only read and
translate; validation, de-duplication, identity stitching and writing happen in
one place, the ingest pipeline, whatever the source.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "MESSAGE_ID_NAMESPACE",
    "RecordKind",
    "SourceError",
    "SourceRecord",
    "SourceSkip",
    "ordered_message_id",
    "stable_message_id",
]

RecordKind = Literal["event", "item", "edge"]

# A fixed namespace, so the same source row gets the same messageId on every machine and
# importing a file twice adds nothing.
MESSAGE_ID_NAMESPACE = uuid.UUID("6f1c7a52-3d0e-4c55-9b7e-5b0b8f8f2a10")
_NS = MESSAGE_ID_NAMESPACE.bytes


def stable_message_id(*parts: object) -> str:
    """A deterministic messageId for a source row: the UUID 5 of its identifying parts.

    Equal to ``str(uuid.uuid5(MESSAGE_ID_NAMESPACE, "\\x1f".join(parts)))``, computed without
    the UUID object (a fifth of an import's time went there).
    """
    b = bytearray(hashlib.sha1(_NS + "\x1f".join(map(str, parts)).encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ordered_message_id(*parts: object) -> str:
    """A readable, deterministic messageId that sorts like the source: ``ml-1m:r:0000000001:…``.

    Numeric parts are zero-padded, so rows of a file sorted by them (MovieLens ratings are
    sorted by user) get ascending ids and append to the store's messageId index; random
    ids make every chunk rewrite pages all over that index, which dominated large imports.
    """
    return ":".join([t.zfill(10) if t.isdigit() else t for t in map(str, parts)])


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One thing to write.

    ``kind`` says what ``data`` holds:

    - ``"event"``: a Segment event as a dict (``type``, ``messageId``, ``userId`` or
      ``anonymousId``, ``timestamp`` as ``datetime`` or ISO-8601 text, ``properties``,
      ``traits``, ``context``...).
    - ``"item"``: a catalog item as a dict with the fields of ``tailored.catalog.Item``.
    - ``"edge"``: a social edge as a dict with the fields of ``tailored.catalog.Edge``.

    ``line`` is the 1-based line or row number in the source, for error reports.
    """

    kind: RecordKind
    data: dict[str, Any]
    line: int


@dataclass(frozen=True, slots=True)
class SourceError:
    """A source row that could not be read, named by line, field and reason."""

    line: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class SourceSkip:
    """A source record left out on purpose, not an error: ``kind`` names what it was (e.g.
    ``"stock_adjustment"``), ``reason`` why in a few words, ``rows`` how many source rows it
    spanned (an invoice of three lines is one record of three rows), ``line`` where it
    started."""

    line: int
    kind: str
    reason: str
    rows: int = 1
