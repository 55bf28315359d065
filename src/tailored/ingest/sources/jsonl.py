"""JSON Lines of Segment events, read line by line (constant memory)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import orjson

from tailored.ingest.sources.records import SourceError, SourceRecord

__all__ = ["read_jsonl"]


def read_jsonl(stream: IO[bytes]) -> Iterator[SourceRecord | SourceError]:
    """One event per line; blank lines are skipped, line numbers start at 1."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield SourceError(number, "(json)", f"malformed JSON: {exc}")
            continue
        if not isinstance(data, dict):
            yield SourceError(number, "(event)",
                              f"an event must be a JSON object, got {type(data).__name__}")
            continue
        yield SourceRecord("event", data, number)
