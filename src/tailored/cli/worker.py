"""``tailored worker``: the real-time consumers, until stopped or (``--once``) until idle."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from tailored.cli.state import emit, state_of
from tailored.errors import InvalidInput

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
worker_app = typer.Typer(
    help="Run the real-time consumers (live profiles, live segments, ...) over committed "
    "changes: until stopped (SIGTERM or Ctrl+C), or with --once until everything pending and "
    "due is handled.", invoke_without_command=True, no_args_is_help=False)


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"--as-of: not an ISO time: {value!r} (e.g. 2026-12-05T10:00:00Z)",
                           field="as_of") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


@worker_app.callback()
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(
        "--once", help="Handle everything pending and due (and the events handlers emit), "
        "then exit.")] = False,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The clock's time for this run (ISO), for time-window rules; "
        "default now.")] = None,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", min=1, max=100_000,
        help="Events a consumer handles in one transaction.")] = 2_000,
    poll: Annotated[float, typer.Option(
        "--poll", min=0.001, max=60.0,
        help="Without Redis: how often (seconds) the store's log is looked at while events "
        "come; up to 10 times less often while none do.")] = 0.005,
    parent: Annotated[int | None, typer.Option(
        "--parent", hidden=True,
        help="Stop when this process is gone (the `tailored serve` that started it).")
        ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the real-time consumers."""
    if ctx.invoked_subcommand is not None:
        return
    from tailored.realtime import webhooks
    from tailored.realtime.embedded import open_bus, worker_for

    at = _as_of(as_of)
    state = state_of(ctx)
    store = state.writable_store
    webhooks.configure(state.settings.webhook_policy())
    clock = (lambda: at) if at is not None else None
    # Until stopped: the Redis stream when there is one; --once reads the store alone.
    bus = open_bus(state.settings) if state.settings.redis_url and not once else None
    worker_ = worker_for(store, bus, clock=clock, batch_size=batch_size)
    if once:
        report = worker_.run_once()
        emit(ctx, as_json, report, lambda c: c.print(
            f"handled {report['events']:,} events; {report['profiles_updated']:,} profiles "
            f"updated; segments: {report['segments_entered']:,} entered, "
            f"{report['segments_exited']:,} exited; {report['due_checked']:,} due checks "
            f"({report['seconds']:.2f} s)"))
        return
    _run_forever(ctx, worker_, bus, poll, parent)


def _watch_parent(pid: int, stop: threading.Event) -> None:
    """Set ``stop`` once ``pid`` is no longer this process's parent (it exited, even by
    SIGKILL: the worker must not outlive the server that started it)."""
    while not stop.wait(0.5):
        if os.getppid() != pid:
            stop.set()


def _run_forever(ctx: typer.Context, worker_: Any, bus: Any, poll: float,
                 parent: int | None) -> None:
    state = state_of(ctx)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True,
                         name="tailored-parent-watch").start()
    where = f"the stream of {bus}" if bus is not None else f"the store, every {poll:g} s"
    state.err.print(f"tailored worker: consumers {', '.join(c.name for c in worker_.consumers)}"
                    f" reading {where} (Ctrl+C to stop)", markup=False, highlight=False,
                    soft_wrap=True)
    from tailored.long_running import settle_heap
    from tailored.realtime import webhooks

    # Webhook deliveries go out from a thread as soon as they are queued.
    webhooks.start_background(worker_.store)
    settle_heap()
    try:
        worker_.run(stop, bus, catch_up_seconds=1.0,
                    poll_seconds=poll if bus is None else None)
    finally:
        webhooks.stop_background(worker_.store)
        if bus is not None:
            bus.close()
    state.err.print("tailored worker: stopped", markup=False, highlight=False)


@worker_app.command("status")
def status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Each consumer's position, what it has left, and parked failures."""
    from tailored.realtime.worker import Worker

    data = Worker(state_of(ctx).store).status()

    def render(console: Any) -> None:
        t = Table(title="real-time consumers")
        for col in ("consumer", "position", "pending events", "pending merges", "handled",
                    "lag s"):
            t.add_column(col)
        for c in data["consumers"]:
            t.add_row(c["consumer"], str(c["event_position"]), f"{c['pending_events']:,}",
                      f"{c['pending_merges']:,}", f"{c['events_handled']:,}",
                      "-" if c["lag_seconds"] is None else f"{c['lag_seconds']:.1f}")
        console.print(t)
        console.print(f"parked failures: {data['parked_total']:,}")
        for p in data["parked"][:10]:
            console.print(f"  {p['parked_at']} {p['consumer']} event {p['event_id']}: "
                          f"{p['error']}")

    emit(ctx, as_json, data, render)


def register(app: typer.Typer) -> None:
    app.add_typer(worker_app, name="worker")
