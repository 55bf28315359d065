"""Which platform an event came from, derived from its Segment context."""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["PLATFORMS", "derive_platform"]

PLATFORMS = ("web", "ios", "android", "tv", "server", "unknown")

# "tv" also covers tvOS, Fire TV, Android TV and smart-TV device types.
_TV = re.compile("tv|roku|tizen|webos|vidaa")
_TV_AGENTS = ("smart-tv", "smarttv", "appletv", "googletv", "tizen", "web0s")
_SERVER_LIBRARIES = (
    "analytics-python", "analytics-node", "analytics-ruby", "analytics-java", "analytics-go",
    "analytics-php", "analytics.net", "analytics-dotnet", "tailored-import", "http",
)


@functools.lru_cache(maxsize=256)
def _library_platform(name: str) -> str | None:
    # Few distinct library names reach a store, so their platform is looked up once each.
    lib = name.lower()
    if lib in ("analytics.js", "analytics-next") or lib.startswith("@segment/analytics"):
        return "web"
    if lib.startswith(("analytics-ios", "analytics-swift")):
        return "ios"
    if lib.startswith(("analytics-android", "analytics-kotlin")):
        return "android"
    if lib.startswith(_SERVER_LIBRARIES):
        return "server"
    return None


def _lower(part: Any, key: str) -> str:
    """``part[key]`` as lower-case text, "" when ``part`` is no object or has no such key."""
    if not isinstance(part, dict):
        return ""
    value = part.get(key)
    return str(value).lower() if value else ""


def derive_platform(context: dict[str, Any] | None, event_type: str) -> str:
    """One of web, ios, android, tv, server or unknown.

    The device says most (a TV is a TV whatever OS it runs), then the OS, then the library
    that sent the event, then the user agent; a page call without any of these is the web.
    Runs for every event: each part of the context is looked at only when it is there.
    """
    ctx = context or {}
    explicit = ctx.get("platform")
    if explicit and str(explicit).lower() in PLATFORMS:
        return str(explicit).lower()
    device_type = _lower(ctx.get("device"), "type")
    os_name = _lower(ctx.get("os"), "name")
    if device_type or os_name:
        if _TV.search(device_type) or _TV.search(os_name):
            return "tv"
        if os_name in ("iphone os", "ipados"):
            return "ios"
        for name in ("ios", "android"):
            if device_type == name or os_name.startswith(name):
                return name
    library = ctx.get("library")
    if isinstance(library, dict):
        lib = library.get("name")
        if lib:
            by_library = _library_platform(str(lib))
            if by_library:
                return by_library
    agent = ctx.get("userAgent")
    if agent:
        agent = str(agent).lower()
        if any(w in agent for w in _TV_AGENTS):
            return "tv"
        if "iphone" in agent or "ipad" in agent:
            return "ios"
        if "android" in agent:
            return "android"
        return "web"
    if event_type == "page" or isinstance(ctx.get("page"), dict):
        return "web"
    return "unknown"
