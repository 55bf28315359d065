"""``POST /v1/consent``: a consent banner or preference centre records a person's choice per
channel, with the write key (it runs in the browser). It is ingested as Segment's own
consent event, ``Segment Consent Preference Updated`` carrying
``context.consent.categoryPreferences``, so it lands in the person's history and in the
consent records by the one path events take (latest by time wins); a new visitor becomes a
person as with any event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from tailored.api.deps import IngestorDep, StoreDep, require
from tailored.api.schemas import ERROR_RESPONSES
from tailored.errors import InvalidInput
from tailored.store.consents import CONSENT_CHANNELS

__all__ = ["CONSENT_EVENT", "router"]

CONSENT_EVENT = "Segment Consent Preference Updated"
router = APIRouter(prefix="/v1", tags=["campaigns"], responses=ERROR_RESPONSES)


class ConsentIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    user_id: str | None = Field(default=None, alias="userId")
    anonymous_id: str | None = Field(default=None, alias="anonymousId")
    category_preferences: dict[str, bool] = Field(alias="categoryPreferences", min_length=1)
    timestamp: datetime | None = None

    @model_validator(mode="after")
    def _check(self) -> ConsentIn:
        if not (self.user_id or self.anonymous_id):
            raise ValueError("give userId or anonymousId: whose consent this is")
        unknown = sorted(set(self.category_preferences) - set(CONSENT_CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel {unknown[0]!r} in categoryPreferences "
                             f"(channels: {', '.join(CONSENT_CHANNELS)})")
        return self


@router.post("/consent", status_code=status.HTTP_201_CREATED,
             dependencies=[require("ingest")])
async def consent(body: ConsentIn, store: StoreDep, ingestor: IngestorDep) -> dict[str, Any]:
    """Record consent given or withdrawn, per channel (email, push, sms, ads, ...)."""
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "type": "track", "event": CONSENT_EVENT, "messageId": f"consent-{uuid.uuid4()}",
        "timestamp": (body.timestamp or now).isoformat(),
        "context": {"consent": {"categoryPreferences": body.category_preferences}},
        "properties": {}}
    if body.user_id:
        event["userId"] = body.user_id
    if body.anonymous_id:
        event["anonymousId"] = body.anonymous_id
    report = await run_in_threadpool(lambda: ingestor.ingest_events([event], received_at=now))
    if report.accepted != 1:
        reason = report.rejected[0].reason if report.rejected else "not accepted"
        raise InvalidInput(f"consent not recorded: {reason}", field="body")
    who = body.user_id or body.anonymous_id
    assert who is not None  # checked by ConsentIn
    pid = await run_in_threadpool(store.find_profile, who)
    return {"profile_id": pid, "recorded": body.category_preferences}
