"""``tailored campaign``: create, send, report and list campaigns."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from tailored.cli.state import emit, state_of
from tailored.errors import InvalidInput

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
campaign_app = typer.Typer(
    help="Campaigns: an audience (a segment or a rule, evaluated when sent), a channel, "
    "variants and a holdout, a goal; sent now, on a schedule, or on a trigger.",
    no_args_is_help=True)


def _variants(template: str, variant: list[str]) -> list[dict[str, Any]]:
    out = [{"name": "main" if not variant else "A", "template": template}]
    for spec in variant:
        name, sep, tmpl = spec.partition("=")
        if not sep or not name.strip() or not tmpl.strip():
            raise InvalidInput(f"--variant: {spec!r} is not NAME=TEMPLATE", field="variant")
        out.append({"name": name.strip(), "template": tmpl.strip()})
    return out


@campaign_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The campaign's name.")],
    channel: Annotated[str, typer.Option("--channel", help="email, push, webhook or inapp.")],
    template: Annotated[str, typer.Option(
        "--template", help="The message's template (the first variant, named A when "
        "--variant adds others, else main).")],
    variant: Annotated[list[str] | None, typer.Option(
        "--variant", help="Another variant: NAME=TEMPLATE (repeat for more).")] = None,
    segment: Annotated[str | None, typer.Option(
        "--segment", help="The audience: a segment (evaluated when sent).")] = None,
    rule: Annotated[str | None, typer.Option(
        "--rule", help="The audience: a segment rule as JSON, inline.")] = None,
    holdout: Annotated[float, typer.Option(
        "--holdout", help="Share of the eligible kept out, to measure the lift (0.1).")] = 0.0,
    goal: Annotated[str, typer.Option("--goal", help="The event that counts as a conversion."
                                      )] = "Order Completed",
    goal_days: Annotated[float, typer.Option(
        "--goal-days", help="Days after the message a conversion counts.")] = 7.0,
    trigger: Annotated[str | None, typer.Option(
        "--trigger", help="Send to a person when they do this event.")] = None,
    on_enter: Annotated[str | None, typer.Option(
        "--on-enter", help="Send to a person when they enter this segment.")] = None,
    on_exit: Annotated[str | None, typer.Option(
        "--on-exit", help="Send to a person when they leave this segment.")] = None,
    unless: Annotated[str | None, typer.Option(
        "--unless", help="...unless they do this event within --within.")] = None,
    within: Annotated[str | None, typer.Option(
        "--within", help="The --unless window: 30m, 1h, 2d.")] = None,
    delay: Annotated[str | None, typer.Option(
        "--delay", help="Wait this long after the trigger: 30m, 1h.")] = None,
    schedule: Annotated[str | None, typer.Option(
        "--schedule", help="Send at a time (ISO) or on a cron schedule (UTC): "
        "'0 9 * * MON'. `tailored worker` sends it.")] = None,
    transactional: Annotated[bool, typer.Option(
        "--transactional", help="A message the person expects (a receipt, a reset): "
        "exempt from frequency caps and quiet hours.")] = False,
    webhook_url: Annotated[str | None, typer.Option(
        "--webhook-url", help="For --channel webhook: where the signed JSON goes.")] = None,
    consent_channel: Annotated[str | None, typer.Option(
        "--consent-channel", help="The consent category needed (default: the channel's "
        "own; e.g. sms for a webhook to an SMS service).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create (or, before it has sent, redefine) a campaign."""
    from tailored.campaigns.definitions import create_campaign, parse_duration

    rule_doc = None
    if rule is not None:
        try:
            rule_doc = json.loads(rule)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--rule is not JSON: {exc.msg} (column {exc.colno})",
                               field="rule") from None
    trig = None
    if trigger or on_enter or on_exit:
        trig = {"event": trigger, "on_enter": on_enter, "on_exit": on_exit,
                "unless": unless,
                "within_seconds": parse_duration(within, field="within") if within else None,
                "delay_seconds": parse_duration(delay, field="delay") if delay else 0.0}
    elif unless or within or delay:
        raise InvalidInput("--unless, --within and --delay go with a trigger (--trigger, "
                           "--on-enter or --on-exit)", field="trigger")
    doc = {"name": name, "channel": channel, "variants": _variants(template, variant or []),
           "segment": segment, "rule": rule_doc, "holdout": holdout, "goal": goal,
           "goal_days": goal_days, "trigger": trig, "schedule": schedule,
           "transactional": transactional, "webhook_url": webhook_url,
           "consent_channel": consent_channel}
    state = state_of(ctx)
    result = create_campaign(state.writable_store, doc)
    if trig and trig.get("event"):
        from tailored.campaigns.triggers import trigger_warnings

        if warnings := trigger_warnings(state.store, trig):
            result["warnings"] = warnings
    emit(ctx, as_json, result, lambda c: c.print(
        f"campaign {name} {'created' if result['created'] else 'redefined'} "
        f"({result['status']}, {channel}, variants {', '.join(result['variants'])}"
        f"{f', holdout {holdout:g}' if holdout else ''})"
        + "".join(f"\nwarning: {w}" for w in result.get("warnings", [])),
        markup=False, highlight=False))


@campaign_app.command("send")
def send(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The campaign.")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Count who would get it and why not; send and record nothing."
        )] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send the campaign now to its audience as it is now, and deliver before returning.
    Sending it again sends nobody a second message."""
    from tailored.campaigns.sending import send_campaign

    state = state_of(ctx)
    result = send_campaign(state.store, state.settings, state.models, name, dry_run=dry_run)

    def render(c: Any) -> None:
        skipped = ", ".join(f"{k} {v}" for k, v in result["skipped"].items() if v)
        verb = "would send" if dry_run else "sent"
        n = result.get("would_send", result["sent"])
        c.print(f"campaign {name}: audience {result['audience']}, {verb} {n}, failed "
                f"{result['failed']}" + (f"; skipped: {skipped}" if skipped else ""),
                markup=False, highlight=False)
        if result.get("note"):
            c.print(result["note"], markup=False, highlight=False)
        for e in result.get("errors", []):
            c.print(f"  {e['profile_id']}: {e['error']}"
                    + (" (the worker tries again)" if e["retrying"] else ""),
                    markup=False, highlight=False)

    emit(ctx, as_json, result, render)


@campaign_app.command("report")
def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The campaign.")],
    as_json: JsonOpt = False,
) -> None:
    """Per variant (the holdout is one): people, sent, delivered, opened, clicked,
    converted, revenue; each variant's lift with its 95 % interval and p-value."""
    from tailored.campaigns.report import campaign_report

    data = campaign_report(state_of(ctx).store, name)

    def render(c: Any) -> None:
        t = Table(title=f"campaign {name}: goal {data['goal']} within {data['goal_days']:g} d")
        cols = ("variant", "people", "sent", "delivered", "opened", "clicked", "converted",
                "conversion_rate", "revenue", "revenue_per_person", "unsubscribed")
        for col in cols:
            t.add_column(col.replace("_", " "))
        for v in data["variants"]:
            t.add_row(*("" if v[k] is None else str(v[k]) for k in cols))
        c.print(t)
        for lift in data["lift"]:
            ci = lift["ci95"]
            shown = "n/a" if lift["lift"] is None else f"{lift['lift']:+.1%}"
            interval = "" if ci[0] is None else f" [{ci[0]:+.1%}, {ci[1]:+.1%}]"
            p = "" if lift["p_value"] is None else f", p={lift['p_value']:.3g}"
            c.print(f"{lift['variant']} vs {lift['against']}, {lift['metric']}: "
                    f"{shown}{interval}{p}", markup=False, highlight=False)
        if data["srm_alarm"]:
            c.print(f"sample ratio mismatch: p={data['srm_p_value']:.2g} — the arms are not "
                    "the sizes the design asked; do not trust the lift", markup=False)

    emit(ctx, as_json, data, render)


@campaign_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every campaign with its channel and state."""
    from tailored.campaigns.definitions import list_campaigns

    rows = list_campaigns(state_of(ctx).store)

    def render(c: Any) -> None:
        t = Table(title="campaigns")
        for col in ("campaign", "channel", "status", "next run", "last run"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["campaign"], r["channel"], r["status"], r["next_run_at"] or "",
                      r["last_run_at"] or "")
        c.print(t)

    emit(ctx, as_json, {"campaigns": rows}, render)


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
