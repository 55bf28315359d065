"""Reading a request body under a size limit, counted on the bytes that actually arrive.

``Content-Length`` is only a claim: a client may send more than it declares, or use chunked
transfer with none. The body is read chunk by chunk and reading stops at the first byte past
the limit, so a 400 MiB body costs the server no more memory than the limit. A gzip body is
inflated as it arrives and counted after inflating (a small bomb expands to no more than the
limit plus one chunk), and must end with its trailer: a cut-off stream is refused.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from fastapi import Request

from tailored.errors import InvalidInput, PayloadTooLarge

__all__ = ["read_body", "read_json"]

# Compressed data can be slightly larger than what it holds (stored blocks, header and
# trailer): allow that much over the limit before inflating.
_GZIP_SLACK = 1024


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"body: the request is over the {limit // 1024} KB limit",
                           field="body")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, inflated if gzip; PayloadTooLarge as soon as it passes ``limit`` bytes."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise InvalidInput(f"Content-Encoding {encoding!r} is not supported", field="body")
    gzipped = encoding == "gzip"
    wire_limit = limit + limit // 100 + _GZIP_SLACK if gzipped else limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > wire_limit:
        raise _too_large(limit)  # refused before a byte of the body is read

    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    parts: list[bytes] = []
    received = size = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > wire_limit:
            raise _too_large(limit)
        if inflater is None:
            parts.append(chunk)
            size = received
            continue
        try:
            # Inflate at most one byte past the limit: what is left over means too large.
            out = inflater.decompress(chunk, limit - size + 1)
        except zlib.error as exc:
            raise InvalidInput(f"body: not valid gzip ({exc})", field="body") from None
        size += len(out)
        if size > limit or inflater.unconsumed_tail:
            raise _too_large(limit)
        parts.append(out)
        if inflater.eof and inflater.unused_data:
            raise InvalidInput("body: data after the end of the gzip stream", field="body")
    if inflater is not None and not inflater.eof:
        raise InvalidInput("body: the gzip stream is cut off before its end (no trailer)",
                           field="body")
    return b"".join(parts)


async def read_json(request: Request, limit: int) -> Any:
    """The body parsed as JSON, read under ``limit`` as :func:`read_body` does."""
    body = await read_body(request, limit)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"body: malformed JSON ({exc})", field="body") from None
