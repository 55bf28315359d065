"""``/health``: for load balancers and orchestrators, no key needed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import StoreDep
from tailored.api.schemas import HealthOut

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut,
            responses={503: {"model": HealthOut, "description": "The store cannot be reached, "
                             "or its schema is not the one this version expects."}})
async def health(store: StoreDep) -> JSONResponse:
    """200 when the store answers and its migrations are current, else 503 saying why."""
    state = await run_in_threadpool(store.health)
    ok = state.pop("ok")
    if ok:
        status = "ok"
    elif state["store"] != "reachable":
        status = "unavailable"
    else:
        status = "schema not current"
    body = HealthOut(status=status, **state)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
