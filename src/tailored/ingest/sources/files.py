"""Opening source files: plain or gzip-compressed, told by their first bytes."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import IO

__all__ = ["GZIP_MAGIC", "open_binary"]

GZIP_MAGIC = b"\x1f\x8b"


def open_binary(path: str | Path) -> IO[bytes]:
    """A binary stream of a plain or gzip file, or of stdin for ``-``.

    Gzip is told by its magic bytes, not the name, so ``ratings.csv.gz`` and a renamed or
    unsuffixed archive both read. A missing path or a folder is a clear error naming it.
    """
    if str(path) == "-":
        stdin = sys.stdin.buffer
        head = stdin.peek(2)[:2] if hasattr(stdin, "peek") else b""
        return gzip.GzipFile(fileobj=stdin) if head == GZIP_MAGIC else stdin
    file = Path(path)
    if file.is_dir():
        raise IsADirectoryError(f"{file} is a folder, not a file")
    if not file.exists():
        raise FileNotFoundError(f"no such file: {file}")
    with file.open("rb") as probe:
        head = probe.read(2)
    return gzip.open(file, "rb") if head == GZIP_MAGIC else file.open("rb")
