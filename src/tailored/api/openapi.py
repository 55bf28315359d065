"""The OpenAPI schema: FastAPI's, with the Segment calls' request bodies as components."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from tailored.api.segment_calls import CALL_MODELS

__all__ = ["install_openapi"]


def install_openapi(app: FastAPI) -> None:
    """Add the Segment call models, which routes reference but do not parse, to the schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        _, defs = models_json_schema(
            [(model, "validation") for model in CALL_MODELS.values()],
            ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs["$defs"])
        # Invalid parameters and bodies are answered 400 in the project's shape (see
        # api.errors), never FastAPI's 422.
        for operation in (op for path in schema["paths"].values() for op in path.values()):
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", {
                    "description": "Bad input; `field` names the part that is wrong.",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ErrorOut"}}}})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
