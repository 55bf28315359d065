"""The settings file: ``tailored.toml`` in the current folder, or the file ``TAILORED_CONFIG``
names. Flat ``name = value`` lines, one per setting (the names of ``tailored config``).

Environment variables win over the file, and command-line options over both. Relative paths
in the file (a ``sqlite:///`` database, a folder) are relative to the file's own folder, so
the same file means the same store from wherever a command runs.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_settings import PydanticBaseSettingsSource

from tailored.errors import InvalidInput

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo
    from pydantic_settings import BaseSettings

__all__ = ["CONFIG_ENV", "CONFIG_FILE", "ConfigFileSource", "config_path", "read_config_file"]

CONFIG_FILE = "tailored.toml"
CONFIG_ENV = "TAILORED_CONFIG"


def config_path() -> Path | None:
    """The settings file in use: the one ``TAILORED_CONFIG`` names (which must exist), else
    ``./tailored.toml`` when there is one, else none."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise InvalidInput(f"{CONFIG_ENV} names {path}, which is not a file",
                               field=CONFIG_ENV)
        return path
    here = Path(CONFIG_FILE)
    return here if here.is_file() else None


def _relative_to(folder: Path, name: str, value: Any, paths: set[str]) -> Any:
    """``value`` with a relative path made relative to ``folder``."""
    if name in paths and isinstance(value, str) and not Path(value).expanduser().is_absolute():
        return str(folder / value)
    if (name.endswith("_url") and isinstance(value, str) and value.startswith("sqlite:///")
            and value != "sqlite:///:memory:"):
        database = value[len("sqlite:///"):]
        if database and not database.startswith(("/", "file:")):
            return f"sqlite:///{folder / database}"
    return value


def read_config_file(path: Path, fields: dict[str, FieldInfo]) -> dict[str, Any]:
    """The settings in the TOML file at ``path``; an unknown name or bad TOML is an error
    naming the file, the line or the setting (with the closest known names)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}", field=CONFIG_ENV) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", field=CONFIG_ENV) from None
    for name, value in doc.items():
        if name not in fields:
            close = difflib.get_close_matches(name, list(fields), n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else (
                f"; settings: {', '.join(sorted(fields))}")
            raise InvalidInput(f"{path}: unknown setting {name!r}{hint}", field=name)
        if isinstance(value, dict):
            raise InvalidInput(f"{path}: {name} must be a value, not a table [{name}]",
                               field=name)
    folder = path.resolve().parent
    paths = {n for n, f in fields.items() if f.annotation is Path
             or "Path" in str(f.annotation)}
    return {n: _relative_to(folder, n, v, paths) for n, v in doc.items()}


class ConfigFileSource(PydanticBaseSettingsSource):
    """Settings from :func:`config_path`'s file, below the environment."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.path = config_path()
        self.values = ({} if self.path is None
                       else read_config_file(self.path, settings_cls.model_fields))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)
