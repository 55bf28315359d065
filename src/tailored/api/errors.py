"""The handlers that turn Tailored's errors, invalid request bodies, and the framework's own
404 and 405 into responses of one shape: ``{"success": false, "error", "message"[, "field"]}``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


_HTTP_ERRORS = {404: "NotFound", 405: "MethodNotAllowed"}


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    # Raised by routing (no such path, or not that method), not by Tailored's own code.
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        if request.method == "OPTIONS":
            message += ("; to let web pages call the API, list their origins in "
                        "TAILORED_CORS_ORIGINS")
    else:
        message = str(exc.detail)
    return JSONResponse({"success": False, "error": _HTTP_ERRORS.get(exc.status_code,
                                                                      "HTTPError"),
                         "message": message},
                        status_code=exc.status_code, headers=exc.headers)


def install_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(TailoredError, _handle)
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
