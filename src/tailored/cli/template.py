"""``tailored template``: message templates (add, preview, list)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tailored.cli.state import emit, state_of
from tailored.errors import InvalidInput

__all__ = ["register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]
template_app = typer.Typer(
    help="Message templates: Jinja2 in a sandbox, reading traits, live, segments, "
    "profile_id, unsubscribe_url and recommendations(k, model=...); checked when added.",
    no_args_is_help=True)


def _read(option: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidInput(f"{option}: cannot read {path}: {reason}",
                           field=option.lstrip("-")) from None


@template_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The template's name (a new one replaces it).")],
    html: Annotated[Path, typer.Option("--html", help="The HTML part: a file.")],
    subject: Annotated[str, typer.Option("--subject", help="The subject: a template too.")],
    text: Annotated[Path | None, typer.Option(
        "--text", help="The plain-text part: a file (optional).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add (or replace) a template. Each part is checked first: syntax, unknown variables
    and the sandbox, with the line; nothing is kept when one fails."""
    from tailored.campaigns.template_store import save_template
    from tailored.campaigns.templates import MessageTemplate

    template = MessageTemplate(name, subject=subject, html=_read("--html", html),
                               text=_read("--text", text) if text is not None else None)
    saved = save_template(state_of(ctx).writable_store, template)
    emit(ctx, as_json, saved, lambda c: c.print(
        f"template {name} {'added' if saved['created'] else 'replaced'}: "
        f"{', '.join(saved['parts'])}", markup=False, highlight=False))


@template_app.command("preview")
def preview(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The template.")],
    person: Annotated[str, typer.Option("--person", help="Any id of the person.")],
    as_json: JsonOpt = False,
) -> None:
    """The template as this person would get it: {"subject", "html", "text"}."""
    from tailored.campaigns.personalise import render_for
    from tailored.campaigns.template_store import get_template

    state = state_of(ctx)
    rendered = render_for(state.store, state.models, state.settings,
                          get_template(state.store, name), person).to_dict()
    emit(ctx, as_json, rendered, lambda c: c.print(
        f"Subject: {rendered['subject']}\n\n{rendered['html']}"
        + (f"\n\n--- text ---\n{rendered['text']}" if rendered["text"] is not None else ""),
        markup=False, highlight=False))


@template_app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every template with its subject."""
    from tailored.campaigns.template_store import list_templates

    rows = list_templates(state_of(ctx).store)

    def render(console: Any) -> None:
        t = Table(title="templates")
        for col in ("template", "subject", "text part", "updated"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["template"], r["subject"], "yes" if r["text"] else "no",
                      r["updated_at"])
        console.print(t)

    emit(ctx, as_json, {"templates": rows}, render)


def register(app: typer.Typer) -> None:
    app.add_typer(template_app, name="template")
