"""What every command shares: settings, the store, and how results are printed."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from tailored.config import Settings
from tailored.errors import StoreUnavailable
from tailored.store import Store
from tailored.store.engine import normalise_url
from tailored.store.presence import in_memory, sqlite_file

if TYPE_CHECKING:
    from tailored.recommend.model_store import ModelStore

__all__ = ["AppState", "emit", "progress", "staged_progress", "state_of"]


@dataclass
class AppState:
    settings: Settings
    options: set[str] = field(default_factory=set)  # settings given on the command line
    console: Console = field(default_factory=lambda: Console(stderr=False))
    err: Console = field(default_factory=lambda: Console(stderr=True))
    _store: Store | None = None

    @property
    def store(self) -> Store:
        """The store for a command that reads: it must exist already (a missing one is an
        error naming it, and nothing is created). Opened and migrated on first use."""
        return self._open(create=False)

    @property
    def writable_store(self) -> Store:
        """The store for a command that writes: created if it does not exist yet, which is
        said on stderr."""
        return self._open(create=True)

    def _open(self, *, create: bool) -> Store:
        if self._store is None:
            url = self.settings.database_url
            if in_memory(normalise_url(url)):
                raise StoreUnavailable(
                    f"{url} is an in-memory database, gone when the command ends: give a "
                    "file, sqlite:///PATH")
            self._store = Store.open(url, create=create)
            if self._store.created:
                path = sqlite_file(normalise_url(url))
                self.err.print(f"created a new store at {self._store.url}"
                               + (f" ({path})" if path else ""),
                               markup=False, highlight=False, soft_wrap=True)
        return self._store

    @property
    def models(self) -> ModelStore:
        """The store's trained models (beside a SQLite file, or in a PostgreSQL store)."""
        from tailored.recommend.model_store import open_models

        return open_models(self.store, self.settings.models_folder())

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def state_of(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    assert isinstance(obj, AppState)
    return obj


def emit(ctx: typer.Context, as_json: bool, data: Any, render: Callable[[Console], None]) -> None:
    """Print a result: JSON alone on stdout with ``--json``, else a readable view."""
    if as_json:
        # Rows read from the database have str-subclass keys (SQLAlchemy's quoted_name),
        # which orjson refuses without OPT_NON_STR_KEYS.
        sys.stdout.write(orjson.dumps(
            data, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
        sys.stdout.write("\n")
        sys.stdout.flush()
    else:
        render(state_of(ctx).console)


@contextmanager
def progress(ctx: typer.Context, description: str, total: float | None = None
             ) -> Iterator[Callable[[float], None]]:
    """A Rich progress bar on stderr; yields a function that sets how far the job is."""
    err = state_of(ctx).err
    columns: list[Any] = [SpinnerColumn(), TextColumn("[progress.description]{task.description}")]
    columns += [BarColumn(), MofNCompleteColumn()] if total else [
        TextColumn("{task.completed:,.0f}")]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done: bar.update(task, completed=done)


@contextmanager
def staged_progress(ctx: typer.Context, job: str) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress bar on stderr for a job of several stages; yields a function
    ``update(stage, done, total)`` that names the stage and sets how far it is."""
    err = state_of(ctx).err
    columns: list[Any] = [SpinnerColumn(), TextColumn("[progress.description]{task.description}"),
                          BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(job, total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=f"{job}: {stage}", completed=done, total=total)

        yield update
