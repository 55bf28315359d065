"""``/docs``: Swagger UI served from the package, so it works with no Internet access.

FastAPI's own page loads Swagger UI from a CDN and is blank offline. The files Swagger UI
needs come from the ``swagger-ui-py`` package (a dependency: Swagger UI 5's own dist files,
with its licence, in ``swagger_ui/static``) and are served under ``/docs/assets``; the
page references nothing else.
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "install_docs"]

ASSETS_PATH = "/docs/assets"
_ASSETS = Path(swagger_ui.__file__).with_name("static")


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from the package (create the app with ``docs_url=None``)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} — API",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            # No badge fetched from the public validator: nothing leaves the machine.
            swagger_ui_parameters={"validatorUrl": None},
        )
