"""``tailored config``: every setting, its value and where that value came from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from tailored import __version__
from tailored.cli.state import emit, state_of
from tailored.config import Settings
from tailored.config_file import CONFIG_ENV, config_path, read_config_file
from tailored.extras import installed_extras
from tailored.store.engine import safe_url

__all__ = ["describe_settings", "register"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")]


def _shown(name: str, value: Any) -> Any:
    """A value as it may be printed: secrets hidden, URLs without their password."""
    if isinstance(value, SecretStr):
        return "**********" if value.get_secret_value() else ""
    if isinstance(value, str) and name.endswith("_url"):
        return safe_url(value)
    if isinstance(value, Path):
        return str(value)
    return value


def describe_settings(settings: Settings, options: set[str]) -> dict[str, Any]:
    """Each setting's value, default, source (option, env, file or default), environment
    variable and description; ``options`` names those given on the command line."""
    path = config_path()
    fields = Settings.model_fields
    in_file = read_config_file(path, fields) if path is not None else {}
    env_names = {k.upper() for k in os.environ}
    rows: dict[str, Any] = {}
    for name, field in fields.items():
        env = f"TAILORED_{name.upper()}"
        source = ("option" if name in options else "env" if env in env_names
                  else "file" if name in in_file else "default")
        rows[name] = {"value": _shown(name, getattr(settings, name)),
                      "default": _shown(name, field.get_default(call_default_factory=True)),
                      "source": source, "env": env, "description": field.description or ""}
    return {"config_file": str(path.resolve()) if path is not None else None,
            "config_env": CONFIG_ENV, "settings": rows}


def config(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Every setting: its value and where it came from (a command-line option, the
    environment, the settings file tailored.toml or TAILORED_CONFIG, or the default)."""
    state = state_of(ctx)
    data = describe_settings(state.settings, state.options)
    data = {"version": __version__, "extras": installed_extras(), **data}

    def render(c: Console) -> None:
        c.print(f"tailored {data['version']}; extras installed: "
                f"{', '.join(data['extras']) or 'none'}")
        where = data["config_file"] or f"none (tailored.toml here, or ${CONFIG_ENV})"
        c.print(f"settings file: {where}")
        table = Table("setting / environment variable", "value", "from", "what it is")
        for name, row in data["settings"].items():
            table.add_row(f"{name}\n[dim]{row['env']}[/]", str(row["value"]), row["source"],
                          row["description"])
        c.print(table)

    emit(ctx, as_json, data, render)


def register(app: typer.Typer) -> None:
    app.command()(config)
