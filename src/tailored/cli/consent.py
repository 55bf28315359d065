"""``tailored consent``: a person's consent for a channel, shown, granted or revoked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from tailored.cli.state import emit, state_of
from tailored.errors import InvalidInput

__all__ = ["register"]


def consent(
    ctx: typer.Context,
    person: Annotated[str, typer.Argument(help="Any id of the person.")],
    channel: Annotated[str, typer.Option(
        "--channel", help="email, push, sms, ads, inapp or webhook.")],
    grant: Annotated[bool, typer.Option("--grant", help="Record consent given now.")] = False,
    revoke: Annotated[bool, typer.Option("--revoke", help="Record consent withdrawn now.")
                      ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")
                       ] = False,
) -> None:
    """A person's consent for a channel: with --grant or --revoke, record it (now, as the
    latest); with neither, show it."""
    from tailored.campaigns.consent import consent_of, record_consent

    if grant and revoke:
        raise InvalidInput("give --grant or --revoke, not both", field="grant")
    state = state_of(ctx)
    if grant or revoke:
        store = state.writable_store
        pid = store.find_profile(person)
        with store.transaction() as conn:
            record_consent(conn, pid, channel, grant, given_at=datetime.now(UTC),
                           source="cli")
    data = consent_of(state.store, person, channel, default=state.settings.consent_default)
    emit(ctx, as_json, data, lambda c: c.print(
        f"{data['profile_id']} {channel}: {'granted' if data['granted'] else 'not granted'} "
        f"({data['source']}{', ' + data['given_at'] if data['given_at'] else ''})",
        markup=False, highlight=False))


def register(app: typer.Typer) -> None:
    app.command()(consent)
