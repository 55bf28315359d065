"""The handlers that turn Tailored's errors, and invalid request bodies, into responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from tailored.errors import InvalidInput, TailoredError, Unauthorized

__all__ = ["install_error_handler"]


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TailoredError)
    body: dict[str, object] = {"success": False, "error": type(exc).__name__,
                               "message": str(exc)}
    if isinstance(exc, InvalidInput) and exc.field:
        body["field"] = exc.field
    for extra in ("rejected", "matches"):
        value = getattr(exc, extra, None)
        if value is not None:
            body[extra] = value
    headers = {"WWW-Authenticate": 'Basic realm="tailored"'} if (
        isinstance(exc, Unauthorized) and exc.status == 401) else None
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _handle_validation(request: Request, exc: Exception) -> JSONResponse:
    # Request bodies that fail their Pydantic model get the same shape as every other
    # bad input: 400, the field, and why.
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
    return JSONResponse({
        "success": False, "error": "InvalidInput", "field": field,
        "message": f"{field}: {first['msg']}",
        "errors": [{"field": ".".join(str(p) for p in e["loc"] if p != "body"),
                    "reason": e["msg"]} for e in errors],
    }, status_code=400)


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(TailoredError, _handle)
    app.add_exception_handler(RequestValidationError, _handle_validation)
