"""Whether a raw event can be stored as it came, on every backend.

An event that parsed may still be impossible to write: JSON nested deeper than the encoder
takes, integers past 64 bits, lone surrogates, or a NUL character (PostgreSQL's text and
jsonb cannot hold one; SQLite could, but a store must accept the same events whichever
backend it runs on). One encode of the whole event answers all of these at a cost of about a
microsecond; only a failing event is walked to name the field.
"""

from __future__ import annotations

from typing import Any

import orjson

from tailored.errors import InvalidInput

__all__ = ["MAX_DEPTH", "check_storable"]

MAX_DEPTH = 254
"""Deepest nesting of objects and arrays an event may have, the event itself counting as
one: what the JSON encoder that writes events can encode."""

# How the encoder writes U+0000; the store writes these documents with the same options.
_NUL = b"\\u0000"
_OPTIONS = orjson.OPT_NON_STR_KEYS


def check_storable(raw: dict[str, Any]) -> None:
    """Raise InvalidInput naming the field when ``raw`` cannot be stored."""
    try:
        text = orjson.dumps(raw, default=str, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        field, reason = _unencodable(raw, str(exc))
        raise InvalidInput(f"{field}: {reason}", field=field) from None
    if _NUL in text:
        # The marker may also be a literal backslash-u0000 written by the sender: look.
        path = _nul_path(raw, "")
        if path is not None:
            raise InvalidInput(
                f"{path}: contains a NUL character (\\u0000), which the store cannot hold",
                field=path)


def _encodes(value: Any) -> bool:
    try:
        orjson.dumps(value, default=str, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return False
    return True


def _unencodable(raw: dict[str, Any], message: str) -> tuple[str, str]:
    if "recursion" in message.lower():
        depths = {str(k): _depth(v) for k, v in raw.items()}
        field = max(depths, key=depths.__getitem__)
        return field, (f"nested {depths[field] + 1} levels deep; an event may nest at most "
                       f"{MAX_DEPTH} (the event itself counting as one)")
    path = _failing_path(raw, "")
    return path or "(event)", f"cannot be stored as JSON ({message})"


def _failing_path(value: Any, path: str) -> str | None:
    """The deepest path whose value alone fails to encode (numbers, surrogates)."""
    children: Any = ()
    if isinstance(value, dict):
        children = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        children = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    for child_path, child in children:
        if not _encodes(child):
            return _failing_path(child, child_path)
    # No child fails alone: the value itself does (or one of its keys).
    return path or None


def _depth(value: Any) -> int:
    """Nesting depth of objects and arrays, iteratively (the value may be 1,000 deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list | tuple):
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node)
    return deepest


def _nul_path(value: Any, path: str) -> str | None:
    """The path of the first text (a key or a value) holding U+0000, or None."""
    if isinstance(value, str):
        return path or "(event)" if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            child = f"{path}.{k}" if path else str(k)
            if isinstance(k, str) and "\x00" in k:
                return child.replace("\x00", "\\u0000")
            found = _nul_path(v, child)
            if found is not None:
                return found.replace("\x00", "\\u0000")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _nul_path(v, f"{path}[{i}]")
            if found is not None:
                return found
    return None
