"""One handler that turns Tailored's errors into HTTP responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tailored.errors import InvalidInput, TailoredError, Unauthorized

__all__ = ["install_error_handler"]


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TailoredError)
    body: dict[str, object] = {"success": False, "error": type(exc).__name__,
                               "message": str(exc)}
    if isinstance(exc, InvalidInput) and exc.field:
        body["field"] = exc.field
    rejected = getattr(exc, "rejected", None)
    if rejected is not None:
        body["rejected"] = rejected
    headers = {"WWW-Authenticate": 'Basic realm="tailored"'} if (
        isinstance(exc, Unauthorized) and exc.status == 401) else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(TailoredError, _handle)
