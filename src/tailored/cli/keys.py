"""``tailored keys``: write keys for the SDKs and API keys for everything else."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tailored.cli.state import emit, state_of
from tailored.store import SCOPES

__all__ = ["register"]

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]


@keys_app.command("create")
def create(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option(
        "--scope", help="ingest (a write key for the SDKs: events only), catalog (items and "
        "social edges), read, or admin (everything).")] = "ingest",
    name: Annotated[str | None, typer.Option("--name", help="What the key is for.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key. It is shown once; only its hash is stored."""
    if scope not in SCOPES:
        raise typer.BadParameter(f"must be one of {', '.join(SCOPES)}", param_hint="--scope")
    key = state_of(ctx).writable_store.create_key(scope, name)
    emit(ctx, as_json, {"key": key, "scope": scope, "name": name},
         lambda c: c.print(f"{key}  (scope {scope}; shown once, keep it safe)"))


@keys_app.command("list")
def list_keys(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Keys by prefix, scope and state (the keys themselves are not stored)."""
    rows = state_of(ctx).store.list_keys()

    def render(console: object) -> None:
        t = Table()
        for col in ("prefix", "scope", "name", "created", "revoked"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["prefix"], r["scope"], r["name"] or "", str(r["created_at"]),
                      str(r["revoked_at"] or ""))
        state_of(ctx).console.print(t)

    emit(ctx, as_json, {"keys": rows}, render)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Argument(help="The key's first 8 characters.")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key by its prefix."""
    n = state_of(ctx).store.revoke_key(prefix)
    emit(ctx, as_json, {"revoked": n}, lambda c: c.print(f"revoked {n} key(s)"))
    if n == 0:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
