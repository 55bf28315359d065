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


def _pairs(option: str, values: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for spec in values:
        name, sep, tmpl = spec.partition("=")
        if not sep or not name.strip() or not tmpl.strip():
            raise InvalidInput(f"{option}: {spec!r} is not {what}", field=option.lstrip("-"))
        out.append((name.strip(), tmpl.strip()))
    return out


def _variants(template: str, variant: list[str], template_for: list[str]
              ) -> list[dict[str, Any]]:
    by_segment = _pairs("--template-for", template_for, "SEGMENT=TEMPLATE")
    out = [{"name": "main" if not variant else "A", "template": template}]
    out += [{"name": n, "template": t}
            for n, t in _pairs("--variant", variant, "NAME=TEMPLATE")]
    return [{**v, "by_segment": by_segment} for v in out]


def _steps(steps: list[str]) -> list[dict[str, Any]]:
    from tailored.campaigns.definitions import parse_duration

    out = []
    for i, text in enumerate(steps, 1):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"--step {i} is not JSON: {exc.msg}", field="step") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("wait"), str) \
                or not isinstance(doc.get("template"), str):
            raise InvalidInput(f"--step {i}: give {{\"wait\": \"2d\", \"template\": \"T\"}} "
                               "and optionally \"unless\": EVENT, \"only_segment\": SEG",
                               field="step")
        unknown = set(doc) - {"wait", "template", "unless", "only_segment"}
        if unknown:
            raise InvalidInput(f"--step {i}: unknown key {sorted(unknown)[0]!r}",
                               field="step")
        out.append({"wait_seconds": parse_duration(doc["wait"], field="step.wait"),
                    "template": doc["template"], "unless": doc.get("unless"),
                    "only_segment": doc.get("only_segment")})
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
    on_item: Annotated[str | None, typer.Option(
        "--on-item", help="Send when an item the person viewed or added to a cart is "
        "back-in-stock or has a price-drop.")] = None,
    viewed_within: Annotated[str, typer.Option(
        "--viewed-within", help="For --on-item: how recently they looked at it.")] = "30d",
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
    template_for: Annotated[list[str] | None, typer.Option(
        "--template-for", help="People in a segment get another template: SEGMENT=TEMPLATE "
        "(repeat; the first segment they are in decides).")] = None,
    step: Annotated[list[str] | None, typer.Option(
        "--step", help="A journey's next message, as JSON: {\"wait\": \"2d\", \"template\": "
        "\"reminder\", \"unless\": \"Order Completed\", \"only_segment\": \"vip\"} "
        "(repeat, in order).")] = None,
    best_time: Annotated[bool, typer.Option(
        "--best-time", help="Send each person at the hour they are usually active (their "
        "opens and events, in their time zone), within 24 h.")] = False,
    allocation: Annotated[str, typer.Option(
        "--allocation", help="fixed (the variants' shares) or thompson (more to the variant "
        "converting better so far, at each send).")] = "fixed",
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
    item = None
    if on_item is not None:
        item = on_item.replace("-", "_")
        if item not in ("back_in_stock", "price_drop"):
            raise InvalidInput(f"--on-item must be back-in-stock or price-drop, got {on_item!r}",
                               field="on_item")
    if trigger or on_enter or on_exit or item:
        trig = {"event": trigger, "on_enter": on_enter, "on_exit": on_exit, "item": item,
                "viewed_days": parse_duration(viewed_within, field="viewed_within") / 86400,
                "unless": unless,
                "within_seconds": parse_duration(within, field="within") if within else None,
                "delay_seconds": parse_duration(delay, field="delay") if delay else 0.0}
    elif unless or within or delay:
        raise InvalidInput("--unless, --within and --delay go with a trigger (--trigger, "
                           "--on-enter or --on-exit)", field="trigger")
    doc = {"name": name, "channel": channel,
           "variants": _variants(template, variant or [], template_for or []),
           "steps": _steps(step or []), "best_time": best_time, "allocation": allocation,
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


@campaign_app.command("sample-size")
def sample_size_cmd(
    ctx: typer.Context,
    baseline: Annotated[float, typer.Option(
        "--baseline", help="The conversion rate without the message (0.04).")],
    lift: Annotated[float, typer.Option(
        "--lift", help="The smallest relative lift worth finding (0.1 = +10 %).")],
    holdout: Annotated[float, typer.Option(
        "--holdout", help="The holdout's share of the two arms compared.")] = 0.5,
    alpha: Annotated[float, typer.Option("--alpha", help="False-positive rate.")] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Chance to find the lift.")] = 0.8,
    as_json: JsonOpt = False,
) -> None:
    """People needed to find a lift in conversion rate against the holdout."""
    from tailored.campaigns.experiments import sample_size

    need = sample_size(baseline, lift, alpha=alpha, power=power, holdout_share=holdout)
    data = {"baseline": baseline, "lift": lift, "alpha": alpha, "power": power,
            "holdout_share": holdout, **need}
    emit(ctx, as_json, data, lambda c: c.print(
        f"{need['total']:,} people: {need['per_variant']:,} sent, {need['holdout']:,} held "
        f"out, to find {lift:+.0%} on {baseline:.2%} with power {power:.0%} at alpha "
        f"{alpha:g}", markup=False, highlight=False))


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
