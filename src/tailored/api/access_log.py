"""One log line a request, with no identifier of a person in it.

Paths carry people's ids (``/v1/profiles/ann@example.com``, ``/v1/recommendations/user-7``)
and write keys (``/v1/projects/tk_.../settings``). A line names the route's template
instead, ``/v1/profiles/{person}``, so no id, e-mail or key ever reaches a log; a path no
route matched keeps only its leading segments that are words of the API's own paths. Query
strings keep their names, not their values. Client addresses are left out too: they are
personal data.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACCESS_LOGGER", "AccessLog", "masked_path"]

ACCESS_LOGGER = "tailored.access"
_log = logging.getLogger(ACCESS_LOGGER)


def masked_path(scope: Scope) -> str:
    """The request's path as it may be logged: the route's template, never its values."""
    route = scope.get("route")
    path: str = scope.get("path", "")
    if isinstance(route, Mount):
        masked = path  # static files: names of the package's own assets
    elif route is not None and getattr(route, "path", None):
        masked = route.path
    else:
        words = _route_words(scope.get("app"))
        kept = []
        for part in path.strip("/").split("/") if path.strip("/") else ():
            if part not in words:
                kept.append("…")
                break
            kept.append(part)
        masked = "/" + "/".join(kept)
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        names = sorted({pair.partition("=")[0] for pair in query.split("&") if pair})
        masked += "?" + "&".join(f"{name}=…" for name in names)
    return masked


def _route_words(app: Any) -> frozenset[str]:
    """The fixed segments of the app's paths (``v1``, ``profiles``, ``docs``, ...)."""
    words = getattr(getattr(app, "state", None), "route_words", None)
    if words is None:
        paths = [*app.openapi()["paths"], app.openapi_url or "", "/docs/assets"] if (
            app is not None) else []
        words = frozenset(part for path in paths for part in path.split("/")
                          if part and "{" not in part)
        if app is not None:
            app.state.route_words = words
    return words


class AccessLog:
    """ASGI middleware writing ``METHOD masked-path STATUS duration`` to ``tailored.access``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            took = (time.perf_counter() - started) * 1000
            _log.info("%s %s %d %.1f ms", scope["method"], masked_path(scope),
                      status["code"], took)
