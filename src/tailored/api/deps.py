"""Dependencies shared by the routes: settings, the store, and key checks."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBasic, HTTPBearer
from starlette.concurrency import run_in_threadpool

from tailored.config import Settings
from tailored.errors import Forbidden, Unauthorized
from tailored.ingest import Ingestor
from tailored.realtime.changes import Publisher
from tailored.recommend.model_store import open_models
from tailored.recommend.training import ModelCache
from tailored.store import Scope, Store

__all__ = [
    "DOCUMENTED_KEY",
    "IngestorDep",
    "ModelsDep",
    "PublisherDep",
    "SettingsDep",
    "StoreDep",
    "authorize",
    "key_from_header",
    "require",
]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_models(request: Request) -> ModelCache:
    cache = getattr(request.app.state, "models", None)
    if cache is None:
        settings, store = request.app.state.settings, request.app.state.store
        cache = request.app.state.models = ModelCache(
            open_models(store, settings.models_folder()))
    return cache


def get_ingestor(request: Request) -> Ingestor:
    return request.app.state.ingestor


def get_publisher(request: Request) -> Publisher | None:
    """Where this server announces what it committed (its real-time bus), if anywhere."""
    return getattr(request.app.state, "bus", None)


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
IngestorDep = Annotated[Ingestor, Depends(get_ingestor)]
ModelsDep = Annotated[ModelCache, Depends(get_models)]
PublisherDep = Annotated[Publisher | None, Depends(get_publisher)]

# Which scopes a key of each scope may act in. The catalogue is not "ingest": the write key
# ships inside web and mobile apps, and anyone who reads it there must not be able to rename,
# reprice or hide items, or invent friendships.
_GRANTS: dict[str, set[str]] = {
    "ingest": {"ingest"},
    "catalog": {"catalog"},
    "read": {"read"},
    "admin": {"ingest", "catalog", "read", "admin"},
}


class _KeyAsBasicUser(HTTPBasic):
    """Basic auth with the key as the user and no password, as the Segment SDKs send it.

    Declared for OpenAPI only: :func:`key_from_header` reads the key, and also takes one
    without the trailing colon that FastAPI's own parser would refuse.
    """

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


class _KeyAsBearer(HTTPBearer):
    """The key as a Bearer token; declared for OpenAPI, read by :func:`key_from_header`."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_basic = _KeyAsBasicUser(
    scheme_name="writeKey", auto_error=False,
    description="The key as the Basic auth user with an empty password (`base64(key:)`), as "
    "every Segment SDK sends its write key.")
_bearer = _KeyAsBearer(scheme_name="bearerKey", auto_error=False,
                       description="The key as a Bearer token.")


async def _documented(basic: None = Security(_basic), bearer: None = Security(_bearer)) -> None:
    """Puts both key schemes on an operation in the OpenAPI schema."""


DOCUMENTED_KEY = Depends(_documented)
"""A dependency that only documents how the key is sent (for routes that read it
themselves, as the Segment calls do, to accept ``writeKey`` in the body too)."""


def key_from_header(authorization: str | None) -> str | None:
    """The key from ``Basic base64(key:)`` (as the Segment SDKs send it) or ``Bearer key``."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized("the Authorization header is not valid Basic auth") from None
        return decoded.partition(":")[0] or None
    raise Unauthorized(f"unsupported Authorization scheme {scheme!r}: use Basic or Bearer")


async def authorize(store: Store, key: str | None, scope: Scope) -> None:
    if not key:
        raise Unauthorized("a key is needed: send it as the Basic auth user (the write key), "
                           "as a Bearer token, or as writeKey in the body")
    granted = await run_in_threadpool(store.key_scope, key)
    if granted is None:
        raise Unauthorized("unknown or revoked key")
    if scope not in _GRANTS[granted]:
        raise Forbidden(f"a {granted!r} key cannot do this: it needs scope {scope!r}")


def require(scope: Scope) -> Any:
    """A dependency that lets only keys with ``scope`` through."""

    async def check(request: Request, store: StoreDep, _: None = DOCUMENTED_KEY) -> None:
        await authorize(store, key_from_header(request.headers.get("authorization")), scope)

    return Depends(check)
