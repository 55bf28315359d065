"""``tailored webhook``: outgoing webhooks for events (add, list, remove)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tailored.cli.state import emit, state_of

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
webhook_app = typer.Typer(
    help="Outgoing webhooks: a signed JSON POST for each event of a name (or each entry to, "
    "or exit from, a segment), delivered by the real-time worker at least once.",
    no_args_is_help=True)


@webhook_app.command("add")
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST: an http(s) URL.")],
    on: Annotated[str, typer.Option(
        "--on", help="The event name to send, e.g. 'Order Completed' or 'Segment Entered'.")],
    segment: Annotated[str | None, typer.Option(
        "--segment", help="With --on 'Segment Entered' / 'Segment Exited': which segment.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a webhook. Its signing secret is shown once: keep it to check signatures."""
    from tailored.realtime.webhooks import add_webhook

    hook = add_webhook(state_of(ctx).writable_store, url, on, segment)
    what = f"{on} {segment}" if segment else on
    emit(ctx, as_json, hook, lambda c: c.print(
        f"webhook {hook['id']}: {what} -> {hook['url']}\n"
        f"signing secret (shown once): {hook['secret']}", markup=False, highlight=False))


@webhook_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Webhooks with their deliveries: pending, delivered, parked, and the last error."""
    from tailored.realtime.webhooks import list_webhooks

    hooks = list_webhooks(state_of(ctx).store)

    def render(console: Any) -> None:
        t = Table(title="webhooks")
        for col in ("id", "on", "url", "pending", "delivered", "parked", "last error"):
            t.add_column(col)
        for h in hooks:
            on = f"{h['on']} {h['segment']}" if h["segment"] else h["on"]
            t.add_row(h["id"], on, h["url"], str(h["pending"]), str(h["delivered"]),
                      str(h["parked"]), h["last_error"] or "")
        console.print(t)

    emit(ctx, as_json, {"webhooks": hooks}, render)


@webhook_app.command("remove")
def remove(
    ctx: typer.Context,
    hook_id: Annotated[str, typer.Argument(metavar="ID", help="The webhook's id (wh_...).")],
    as_json: JsonOpt = False,
) -> None:
    """Remove a webhook; its undelivered deliveries are dropped."""
    from tailored.realtime.webhooks import remove_webhook

    answer = remove_webhook(state_of(ctx).writable_store, hook_id)
    emit(ctx, as_json, answer, lambda c: c.print(
        f"removed {hook_id} ({answer['undelivered_dropped']} undelivered dropped)"))


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_app, name="webhook")
