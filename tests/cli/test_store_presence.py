"""A store that does not exist yet: commands that write create it and say so on stderr;
commands that only read refuse in one line naming it, and create nothing; SQLite URLs that
cannot be opened get one clear line.

Most cases run in-process (CliRunner: the error is the exception the entry point prints as
its one line); one of each kind runs the real program, to see that line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from tailored import Tailored
from tailored.cli.app import app
from tailored.errors import StoreUnavailable
from tailored.store import Store
from tailored.store.engine import normalise_url

ROOT = Path(__file__).resolve().parents[2]
EVENT = {"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "m-1",
         "timestamp": "2026-01-05T10:00:00Z", "properties": {"product_id": "p1"}}
MISSING = "no store at sqlite:///tailored.db"


def cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILORED_")}
    env.update(NO_COLOR="1", PYTHONPATH=str(ROOT / "src"), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "tailored", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


READERS = [
    ["stats", "--json"],
    ["profile", "u1"],
    ["profiles"],
    ["events", "--json"],
    ["erase", "u1", "--yes"],
    ["export", "--out", "snap"],
    ["keys", "list"],
    ["segment", "list"],
    ["segment", "compute", "--all"],
    ["segment", "rfm", "--json"],
    ["analyze", "funnel", "--steps", "Product Viewed,Order Completed"],
    ["analyze", "sentiment", "--json"],
    ["train", "--model", "popular"],
    ["recommend", "u1"],
    ["predict", "churn", "--cutoff", "2026-01-01"],
]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder, and no TAILORED_* settings from outside."""
    for name in [n for n in os.environ if n.startswith("TAILORED_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("args", READERS, ids=[" ".join(a[:2]) for a in READERS])
def test_a_reading_command_on_a_missing_store_names_it_and_creates_nothing(
        here: Path, args: list[str]) -> None:
    result = invoke(*args)
    assert isinstance(result.exception, StoreUnavailable), (result.output, result.exception)
    message = str(result.exception)
    assert message.startswith(MISSING) and "\n" not in message
    assert str(here / "tailored.db") in message
    assert sorted(p.name for p in here.iterdir()) == [], "a reader left files behind"


def test_the_real_program_says_it_in_one_line(tmp_path: Path) -> None:
    done = cli("stats", "--json", cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"error: {MISSING} ({tmp_path / 'tailored.db'} does not exist); commands that write "
        "(ingest, import, quickstart, keys create, serve, segment define) create it"]
    assert not any(tmp_path.iterdir())


def test_writing_commands_create_the_store_and_say_so(here: Path) -> None:
    tmp_path = here
    (tmp_path / "e.jsonl").write_text(json.dumps(EVENT) + "\n")
    (tmp_path / "cdnow.txt").write_text("00001 19970101 1 11.77\n00001 19970112 2 24.50\n")
    cases = [
        (["ingest", "e.jsonl", "--json"], "a.db"),
        (["keys", "create", "--json"], "b.db"),
        (["segment", "define", "vip", "--rule", '{"all": [{"event": "Order Completed"}]}'],
         "c.db"),
        (["import", "cdnow", "cdnow.txt", "--json"], "d.db"),
    ]
    for args, name in cases:
        done = invoke("--db", f"sqlite:///{name}", *args)
        assert done.exit_code == 0, (args, done.output, done.exception)
        assert f"created a new store at sqlite:///{name} ({tmp_path / name})" in done.stderr
        if "--json" in args:
            json.loads(done.stdout)  # stdout keeps the JSON alone
        again = invoke("--db", f"sqlite:///{name}", "stats", "--json")
        assert again.exit_code == 0 and "created" not in again.stderr


def test_an_import_refused_as_a_whole_leaves_no_store_behind(here: Path) -> None:
    (here / "e.jsonl").write_text(json.dumps(EVENT) + "\n")
    done = invoke("import", "jsonl", "e.jsonl", "--kind", "events")
    assert "--map user_id=COLUMN" in str(done.exception)
    assert not (here / "tailored.db").exists()


def test_quickstart_creates_the_store_and_says_so(tmp_path: Path) -> None:
    done = cli("quickstart", "--people", "20", "--json", cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"created a new store at sqlite:///tailored.db ({tmp_path / 'tailored.db'})" in (
        done.stderr)
    assert json.loads(done.stdout)["stats"]["events"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_creates_the_store_and_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAILORED_")}
    env.update(NO_COLOR="1", PYTHONPATH=str(ROOT / "src"))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tailored", "serve", "--port", str(port)],
                            cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        listening = False
        while not listening and proc.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                listening = True
            except OSError:
                time.sleep(0.2)
        assert listening and (tmp_path / "tailored.db").exists()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"created a new store at sqlite:///tailored.db ({tmp_path / 'tailored.db'})" in err


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///folder", "is a folder, not a database file"),
    ("sqlite:///notes.db", "notes.db is not a SQLite database"),
    ("sqlite:///nowhere/x.db", "no folder"),
    ("sqlite:////dev/null", "/dev/null is not a regular file"),
    ("sqlite://", "sqlite:// is an in-memory database, gone when the command ends"),
    ("sqlite:///:memory:", "is an in-memory database"),
], ids=["folder", "not-a-database", "no-folder", "device", "memory", "memory-named"])
@pytest.mark.parametrize("command", [["stats"], ["ingest", "e.jsonl"]], ids=["read", "write"])
def test_sqlite_urls_that_cannot_be_opened_get_one_clear_line(
        here: Path, url: str, expected: str, command: list[str]) -> None:
    (here / "folder").mkdir()
    (here / "notes.db").write_text("not a database\n")
    (here / "e.jsonl").write_text(json.dumps(EVENT) + "\n")
    done = invoke("--db", url, *command)
    assert isinstance(done.exception, StoreUnavailable), (done.output, done.exception)
    assert expected in str(done.exception) and "\n" not in str(done.exception)
    assert (here / "notes.db").read_text() == "not a database\n"


def test_an_unusable_sqlite_file_is_one_line_from_the_real_program(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_text("not a database\n")
    done = cli("--db", "sqlite:///notes.db", "stats", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: cannot open sqlite:///notes.db: {tmp_path / 'notes.db'} is not a SQLite "
        "database (file is not a database)"]


def test_a_database_without_tailored_tables_is_not_migrated_by_a_reader(here: Path) -> None:
    other = here / "other.db"
    engine = sa.create_engine(f"sqlite:///{other}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE notes (body TEXT)")
    engine.dispose()
    done = invoke("--db", "sqlite:///other.db", "stats")
    assert "no store at sqlite:///other.db (the database holds no Tailored tables)" in str(
        done.exception)
    assert sa.inspect(sa.create_engine(f"sqlite:///{other}")).get_table_names() == ["notes"]


def test_store_open_without_create_refuses_and_with_it_says_it_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with pytest.raises(StoreUnavailable, match="no store at"):
        Store.open(url, create=False)
    assert not (tmp_path / "new.db").exists()
    with Store.open(url) as store:
        assert store.created
    with Store.open(url, create=False) as store:
        assert not store.created
    with Tailored(f"sqlite:///{tmp_path / 'api.db'}") as t:
        assert t.store.created and t.stats()["events"] == 0


@pytest.mark.postgres
def test_an_empty_postgres_database_is_refused_by_readers_and_created_by_writers(
        tmp_path: Path, postgres_url: str) -> None:
    admin = sa.create_engine(normalise_url(postgres_url), isolation_level="AUTOCOMMIT")
    name = f"tailored_presence_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(postgres_url).set(database=name).render_as_string(
        hide_password=False)
    try:
        with pytest.raises(StoreUnavailable, match="holds no Tailored tables"):
            Store.open(url, create=False)
        with Store.open(url) as store:
            assert store.created
        with Store.open(url, create=False) as store:
            assert not store.created
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()
