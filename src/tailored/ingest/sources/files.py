"""Opening source files: plain or gzip-compressed, told by their first bytes."""

from __future__ import annotations

import csv
import gzip
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa

from tailored.errors import InvalidInput
from tailored.ingest.sources.records import SourceError, SourceRecord, SourceSkip

__all__ = [
    "CORRUPT_FILE_ERRORS",
    "GZIP_MAGIC",
    "guard_corrupt",
    "open_binary",
    "require_file",
]

GZIP_MAGIC = b"\x1f\x8b"


def require_file(path: str | Path) -> Path:
    """The path of an existing file; a folder or a missing path is a clear error naming it."""
    file = Path(path)
    if file.is_dir():
        raise InvalidInput(f"{file} is a folder, not a file", field="path")
    if not file.exists():
        raise FileNotFoundError(f"no such file: {file}")
    return file


def open_binary(path: str | Path) -> IO[bytes]:
    """A binary stream of a plain or gzip file, or of stdin for ``-``.

    Gzip is told by its magic bytes, not the name, so ``ratings.csv.gz`` and a renamed or
    unsuffixed archive both read. A missing path or a folder is a clear error naming it.
    """
    if str(path) == "-":
        stdin = sys.stdin.buffer
        head = stdin.peek(2)[:2] if hasattr(stdin, "peek") else b""
        return gzip.GzipFile(fileobj=stdin) if head == GZIP_MAGIC else stdin  # type: ignore[return-value]
    file = require_file(path)
    with file.open("rb") as probe:
        head = probe.read(2)
    return gzip.open(file, "rb") if head == GZIP_MAGIC else file.open("rb")  # type: ignore[return-value]


# What a truncated or corrupt file raises somewhere in the readers' libraries.
CORRUPT_FILE_ERRORS: tuple[type[BaseException], ...] = (
    EOFError, zlib.error, zipfile.BadZipFile, gzip.BadGzipFile, UnicodeDecodeError, csv.Error,
    pa.ArrowException,
)


def guard_corrupt(
    records: Iterable[SourceRecord | SourceError | SourceSkip], name: str
) -> Iterator[SourceRecord | SourceError | SourceSkip]:
    """Turn a truncated or corrupt file into a clear error instead of a traceback.

    Before the first record nothing has been read, so the file is refused as bad input;
    later, the rows read so far stand and one rejection says where the file broke off
    (with ``--strict`` nothing is written at all).
    """
    last = 0
    try:
        for rec in records:
            last = rec.line
            yield rec
    except CORRUPT_FILE_ERRORS as exc:
        reason = f"{name} is truncated or corrupt after line {last}: {exc or type(exc).__name__}"
        if last == 0:
            raise InvalidInput(f"cannot read {name}: {exc or type(exc).__name__}",
                               field="(file)") from None
        yield SourceError(last + 1, "(file)", reason)
