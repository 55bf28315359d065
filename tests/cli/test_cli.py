"""The ``tailored`` command: its contract (JSON output, exit statuses, clear errors).

Happy paths run in-process through Typer's CliRunner on both backends (fast); what depends on
the real process — the console script, standard input, the default database in the working
folder, one-line errors instead of tracebacks — runs ``python -m tailored`` as a subprocess.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tailored.cli.app import app
from tailored.store import Store
from tailored.store.snapshot_files import read_snapshot_table

TS = "2026-01-01T10:00:00Z"
PHONE = {"device": {"id": "phone-1", "type": "ios"}, "os": {"name": "iOS"}}

# One person seen anonymously on a phone, then identified with an e-mail (4 events); a
# second person with 2 events and a third with 1.
EVENTS: list[dict[str, Any]] = [
    {"type": "screen", "name": "Home", "anonymousId": "anon-1", "context": PHONE,
     "timestamp": "2026-01-01T09:00:00Z", "messageId": "e-1"},
    {"type": "track", "event": "Product Viewed", "anonymousId": "anon-1", "context": PHONE,
     "properties": {"product_id": "p1", "price": 9.5}, "timestamp": "2026-01-01T09:01:00Z",
     "messageId": "e-2"},
    {"type": "identify", "userId": "user-1", "anonymousId": "anon-1", "context": PHONE,
     "traits": {"email": "Ann@Example.com", "first_name": "Ann"}, "timestamp": TS,
     "messageId": "e-3"},
    {"type": "track", "event": "Order Completed", "userId": "user-1", "timestamp": TS,
     "properties": {"order_id": "o1", "products": [{"product_id": "p1", "quantity": 2,
                                                    "price": 9.5}]}, "messageId": "e-4"},
    {"type": "track", "event": "Product Viewed", "userId": "user-2", "timestamp": TS,
     "properties": {"product_id": "p2"}, "messageId": "e-5"},
    {"type": "page", "name": "Shoes", "userId": "user-2", "timestamp": TS, "messageId": "e-6"},
    {"type": "track", "event": "Product Viewed", "userId": "user-3", "timestamp": TS,
     "properties": {"product_id": "p3"}, "messageId": "e-7"},
]
BAD_LINE = '{"type":"track","event":'


def jsonl(events: list[dict[str, Any]], *raw_lines: str) -> str:
    return "".join(json.dumps(e) + "\n" for e in events) + "".join(f"{r}\n" for r in raw_lines)


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TAILORED_DATABASE_URL", None)
    env["NO_COLOR"] = "1"
    return env


def run(args: list[str], cwd: Path, stdin: bytes | None = None
        ) -> subprocess.CompletedProcess[str]:
    """The real console program, as a user runs it."""
    proc = subprocess.run([sys.executable, "-m", "tailored", *args], cwd=cwd, env=clean_env(),
                          input=stdin, capture_output=True, timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


@pytest.fixture
def cli(store_url: str) -> Iterator[Any]:
    """Invoke ``tailored --db URL ...`` in-process; returns the click Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(app, ["--db", store_url, *args], input=input)

    yield invoke


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl(EVENTS))
    return path


@pytest.fixture
def loaded(cli: Any, events_file: Path) -> None:
    r = cli("ingest", str(events_file), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["accepted"] == len(EVENTS)


def data_of(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)
    return json.loads(result.stdout)


# -- help ----------------------------------------------------------------------------------

def _command_paths(cmd: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    # Typer vendors its own click: tell groups by their sub-commands, not by class.
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _command_paths(sub, (*prefix, name))


COMMANDS = list(_command_paths(typer.main.get_command(app)))


def test_help_lists_every_contract_command() -> None:
    names = {" ".join(p) for p in COMMANDS}
    for name in ("ingest", "stats", "profile", "profiles", "erase", "serve", "export",
                 "keys create", "generate", "quickstart", "import movielens",
                 "import online-retail", "import csv", "import parquet", "import jsonl"):
        assert name in names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "tailored")
def test_help_on_every_command_exits_0(path: tuple[str, ...]) -> None:
    r = CliRunner().invoke(app, [*path, "--help"])
    assert r.exit_code == 0, r.output
    assert "Usage" in r.output


def test_help_of_console_script_exits_0(tmp_path: Path) -> None:
    r = run(["--help"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ingest" in r.stdout
    assert not (tmp_path / "tailored.db").exists()


# -- ingest --------------------------------------------------------------------------------

def test_ingest_all_good_prints_only_json_and_exits_0(cli: Any, events_file: Path,
                                                      store: Store) -> None:
    r = cli("ingest", str(events_file), "--json")
    data = data_of(r)
    assert data["accepted"] == len(EVENTS)
    assert data["duplicates"] == 0
    assert data["rejected"] == []
    assert store.stats()["events"] == len(EVENTS)


def test_ingest_with_rejected_line_prints_json_and_exits_1(
    cli: Any, tmp_path: Path, store: Store
) -> None:
    no_id = {"type": "track", "event": "E", "timestamp": TS, "messageId": "bad-noid"}
    path = tmp_path / "bad.jsonl"
    path.write_text(jsonl(EVENTS[:2], BAD_LINE) + jsonl([no_id]))
    r = cli("ingest", str(path), "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert set(data) >= {"accepted", "duplicates", "rejected"}
    assert data["accepted"] == 2
    rejected = {x["index"]: x for x in data["rejected"]}
    assert sorted(rejected) == [3, 4]  # line numbers, from 1
    assert "json" in (rejected[3]["field"] + rejected[3]["reason"]).lower()
    assert "userid" in (rejected[4]["field"] + rejected[4]["reason"]).lower()
    assert store.stats()["events"] == 2


def test_ingest_twice_counts_duplicates(cli: Any, events_file: Path, store: Store) -> None:
    data_of(cli("ingest", str(events_file), "--json"))
    again = data_of(cli("ingest", str(events_file), "--json"))
    assert again["accepted"] == 0
    assert again["duplicates"] == len(EVENTS)
    stats = store.stats()
    assert stats["events"] == len(EVENTS)
    assert stats["duplicates"] == len(EVENTS)


def test_ingest_gzip_file(cli: Any, tmp_path: Path, store: Store) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl(EVENTS).encode()))
    assert data_of(cli("ingest", str(path), "--json"))["accepted"] == len(EVENTS)
    assert store.stats()["events"] == len(EVENTS)


def test_ingest_strict_with_bad_line_writes_nothing(cli: Any, tmp_path: Path,
                                                    store: Store) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(jsonl(EVENTS[:3], BAD_LINE) + jsonl(EVENTS[3:]))
    r = cli("ingest", str(path), "--strict", "--json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["accepted"] == 0
    assert data["rolled_back"] is True
    assert [x["index"] for x in data["rejected"]] == [4]
    stats = store.stats()
    assert stats["events"] == 0
    assert stats["profiles"] == 0
    assert stats["identities"] == 0


def test_ingest_without_json_renders_a_table(cli: Any, events_file: Path) -> None:
    r = cli("ingest", str(events_file))
    assert r.exit_code == 0
    assert "accepted" in r.stdout


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_ingest_from_stdin(tmp_path: Path, compress: bool) -> None:
    data = jsonl(EVENTS, BAD_LINE).encode()
    db = f"sqlite:///{tmp_path / 'in.db'}"
    r = run(["--db", db, "ingest", "-", "--json"], tmp_path,
            stdin=gzip.compress(data) if compress else data)
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)  # nothing but JSON on stdout
    assert out["accepted"] == len(EVENTS)
    assert [x["index"] for x in out["rejected"]] == [len(EVENTS) + 1]
    with Store.open(db) as store:
        assert store.stats()["events"] == len(EVENTS)


def test_ingest_missing_file_names_it_without_traceback(tmp_path: Path) -> None:
    r = run(["ingest", str(tmp_path / "no-such-file.jsonl")], tmp_path)
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    assert "no-such-file.jsonl" in r.stdout + r.stderr
    assert len((r.stdout + r.stderr).strip().splitlines()) <= 3


def test_default_database_is_tailored_db_in_working_folder(tmp_path: Path,
                                                           events_file: Path) -> None:
    r = run(["ingest", str(events_file), "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "tailored.db").is_file()
    with Store.open(f"sqlite:///{tmp_path / 'tailored.db'}") as store:
        assert store.stats()["events"] == len(EVENTS)


# -- errors --------------------------------------------------------------------------------

def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    r = run(["--db", "postgresql://x@127.0.0.1:1/nowhere", "stats", "--json"], tmp_path)
    assert r.returncode != 0, (r.stdout, r.stderr)
    text = r.stdout + r.stderr
    assert "Traceback" not in text
    assert 1 <= len([line for line in text.splitlines() if line.strip()]) <= 3
    assert r.stdout == ""


def test_unknown_profile_is_one_clear_line(tmp_path: Path) -> None:
    Store.open(f"sqlite:///{tmp_path / 'tailored.db'}").close()
    r = run(["profile", "nobody", "--json"], tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    assert "nobody" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("args", [["stats", "--bogus"], ["no-such-command"],
                                  ["profiles", "--limit", "zero"], ["profile"]])
def test_usage_error_exits_2(cli: Any, args: list[str]) -> None:
    assert cli(*args).exit_code == 2


# -- stats and people ----------------------------------------------------------------------

def test_stats_json_has_the_contract_keys(cli: Any, loaded: None) -> None:
    data = data_of(cli("stats", "--json"))
    assert set(data) >= {"events", "events_by_type", "duplicates", "profiles", "identities",
                         "merges", "items", "edges"}
    assert data["events"] == len(EVENTS)
    assert data["events_by_type"]["Product Viewed"] == 3
    assert data["events_by_type"]["identify"] == 1
    assert data["profiles"] == 3
    assert data["duplicates"] == 0


def test_stats_without_json_renders(cli: Any, loaded: None) -> None:
    r = cli("stats")
    assert r.exit_code == 0
    assert "events" in r.stdout


@pytest.mark.parametrize("ident", ["user-1", "anon-1", "phone-1", "ann@example.com",
                                   "  ANN@Example.COM  "])
def test_profile_json_found_by_any_identity(cli: Any, loaded: None, store: Store,
                                            ident: str) -> None:
    data = data_of(cli("profile", ident, "--json"))
    assert set(data) >= {"profile_id", "identities", "devices", "platforms", "traits",
                         "event_count"}
    assert data["event_count"] == 4
    assert all(set(i) == {"kind", "value"} for i in data["identities"])
    assert {(i["kind"], i["value"]) for i in data["identities"]} >= {
        ("user_id", "user-1"), ("anonymous_id", "anon-1"), ("device_id", "phone-1"),
        ("email", "ann@example.com")}
    assert "phone-1" in json.dumps(data["devices"])
    assert "ios" in data["platforms"]
    assert data["traits"]["first_name"] == "Ann"
    assert data["profile_id"] == store.find_profile("user-1")


def test_profile_json_found_by_profile_id(cli: Any, loaded: None, store: Store) -> None:
    pid = store.find_profile("user-1")
    data = data_of(cli("profile", pid, "--json"))
    assert data["profile_id"] == pid
    assert data["event_count"] == 4


def test_profile_with_merges_and_readable_view(cli: Any, loaded: None) -> None:
    data = data_of(cli("profile", "user-1", "--merges", "--json"))
    assert isinstance(data["merges"], list)
    r = cli("profile", "user-1")
    assert r.exit_code == 0
    assert "user-1" in r.stdout


def test_profiles_json_busiest_first(cli: Any, loaded: None) -> None:
    data = data_of(cli("profiles", "--limit", "2", "--json"))
    rows = data["profiles"]
    assert [p["event_count"] for p in rows] == [4, 2]
    assert all(set(p) >= {"profile_id", "identities", "event_count"} for p in rows)
    assert {"kind": "user_id", "value": "user-1"} in rows[0]["identities"]
    everyone = data_of(cli("profiles", "--json"))["profiles"]
    assert [p["event_count"] for p in everyone] == [4, 2, 1]


def test_erase_removes_the_person(cli: Any, loaded: None, store: Store) -> None:
    data = data_of(cli("erase", "Ann@Example.com", "--yes", "--json"))
    assert data["rows"]["events"] == 4
    assert set(data) == {"profile_id", "matched_by", "rows", "erased"}
    assert data["profile_id"]
    stats = store.stats()
    assert stats["events"] == len(EVENTS) - 4
    assert stats["profiles"] == 2
    r = cli("profile", "user-1", "--json")
    assert r.exit_code != 0
    assert data_of(cli("profile", "user-2", "--json"))["event_count"] == 2


def test_erase_without_yes_asks_and_keeps_on_no(cli: Any, loaded: None, store: Store) -> None:
    r = cli("erase", "user-1", input="n\n")
    assert r.exit_code == 1
    assert store.stats()["events"] == len(EVENTS)


def test_erase_ambiguous_email_refuses_unless_all_matches(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'e.db'}"
    # Someone else sends an identify carrying Ann's e-mail: it now names two people.
    squatter = {"type": "identify", "userId": "mallory", "traits": {"email": "ann@example.com"},
                "timestamp": "2026-01-02T10:00:00Z", "messageId": "e-9"}
    assert run(["--db", db, "ingest", "-"], tmp_path,
               stdin=jsonl([*EVENTS, squatter]).encode()).returncode == 0
    r = run(["--db", db, "erase", "ann@example.com", "--yes", "--json"], tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert "names 2 people" in r.stderr and "--all-matches" in r.stderr
    r = run(["--db", db, "erase", "ann@example.com", "--yes", "--all-matches", "--json"],
            tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == {"profile_id", "matched_by", "rows", "erased"}
    assert data["matched_by"] == "email" and len(data["erased"]) == 2
    assert data["rows"]["events"] == 5


def test_erase_names_whom_it_asks_about(cli: Any, loaded: None, store: Store) -> None:
    pid = store.find_profile("user-1")
    r = cli("erase", "user-1", input="y\n")
    assert r.exit_code == 0, r.output
    assert f"{pid} (by user id)" in r.output and f"erased {pid}" in r.output


# -- keys ----------------------------------------------------------------------------------

def test_keys_create_json_defaults_to_ingest(cli: Any, store: Store) -> None:
    data = data_of(cli("keys", "create", "--json"))
    assert set(data) >= {"key", "scope"}
    assert data["scope"] == "ingest"
    assert store.key_scope(data["key"]) == "ingest"


@pytest.mark.parametrize("scope", ["read", "admin", "catalog"])
def test_keys_create_with_scope(cli: Any, store: Store, scope: str) -> None:
    data = data_of(cli("keys", "create", "--scope", scope, "--json"))
    assert data["scope"] == scope
    assert store.key_scope(data["key"]) == scope


def test_keys_create_with_bad_scope_exits_2(cli: Any, store: Store) -> None:
    r = cli("keys", "create", "--scope", "superuser", "--json")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert store.list_keys() == []


def test_keys_list_and_revoke(cli: Any, store: Store) -> None:
    key = data_of(cli("keys", "create", "--json"))["key"]
    listed = data_of(cli("keys", "list", "--json"))["keys"]
    assert [k["prefix"] for k in listed] == [key[:8]]
    assert data_of(cli("keys", "revoke", key[:8], "--json")) == {"revoked": 1}
    assert store.key_scope(key) is None
    assert cli("keys", "revoke", key[:8], "--json").exit_code == 1


# -- export --------------------------------------------------------------------------------

SNAPSHOT_FILES = ("events", "interactions", "profiles", "identities", "items", "edges",
                  "segment_members")


def test_export_writes_seven_parquet_files_and_manifest(cli: Any, loaded: None, tmp_path: Path,
                                                      store: Store) -> None:
    out = tmp_path / "snap"
    manifest = data_of(cli("export", "--out", str(out), "--json"))
    assert set(manifest["tables"]) == set(SNAPSHOT_FILES)
    assert json.loads((out / "manifest.json").read_text())["tables"] == manifest["tables"]
    counts = {name: read_snapshot_table(out, name).num_rows for name in SNAPSHOT_FILES}
    assert counts == manifest["tables"]
    stats = store.stats()
    assert counts["events"] == stats["events"] == len(EVENTS)
    assert counts["profiles"] == stats["profiles"]
    assert counts["identities"] == stats["identities"]
    assert counts["items"] == counts["edges"] == 0
    # Product Viewed p1, p2, p3 and the order's one product.
    assert counts["interactions"] == 4
    events = read_snapshot_table(out, "events").to_pylist()
    assert {e["message_id"] for e in events} == {e["messageId"] for e in EVENTS}


# -- import of a user's own table ----------------------------------------------------------

def test_import_csv_with_unknown_map_column_fails_naming_it(tmp_path: Path) -> None:
    pytest.importorskip("tailored.ingest.sources.tabular",
                        reason="src/tailored/ingest/sources/tabular.py is not written yet")
    table = tmp_path / "user_artists.dat"
    table.write_text("userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n")
    r = run(["import", "csv", str(table), "--map", "user_id=userID",
             "--map", "item_id=artistIDD", "--event", "Artist Played", "--json"], tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr
    assert r.stdout == ""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "artistIDD" in lines[0]
    db = tmp_path / "tailored.db"
    if db.exists():  # opened before the file was read: it must hold nothing
        with Store.open(f"sqlite:///{db}") as store:
            assert store.stats()["events"] == 0
