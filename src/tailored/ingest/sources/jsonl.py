"""JSON Lines of Segment events, read line by line (constant memory)."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson

from tailored.ingest.sources.records import SourceError, SourceRecord

__all__ = ["open_text", "read_jsonl"]


def open_text(path: str | Path) -> IO[bytes]:
    """A binary stream of a plain or gzip-compressed file, or of stdin for ``-``."""
    if str(path) == "-":
        stream: IO[bytes] = sys.stdin.buffer
        head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
        return gzip.GzipFile(fileobj=stream) if head == b"\x1f\x8b" else stream
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file: {p}")
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder, not a file")
    raw = p.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw)
    raw.seek(0)
    return raw


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
