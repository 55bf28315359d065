"""After an erase through a running server, nothing of the person is left in the SQLite
files: not in the database, not in its write-ahead log."""

from __future__ import annotations

import base64
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.ingest import Ingestor
from tailored.store import Store, erasure

NAME, EMAIL, STREET = "Zebulon Quartermaine", "zebulon.q@example.org", "17 Juniper Lane"
SECRETS = [s.encode() for s in (NAME, EMAIL, STREET)]


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def identify(user: str, **traits: Any) -> dict[str, Any]:
    return {"type": "identify", "userId": user, "traits": traits,
            "timestamp": "2026-01-01T10:00:00Z", "messageId": f"m-{uuid.uuid4().hex}",
            "context": {"ip": "203.0.113.9", "traits": {"name": traits.get("name")}}}


def left_in(path: Path) -> list[bytes]:
    files = [path, path.with_name(path.name + "-wal")]
    data = b"".join(f.read_bytes() for f in files if f.exists())
    return [s for s in SECRETS if s in data]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def server(db: Path) -> Iterator[tuple[TestClient, Store]]:
    url = f"sqlite:///{db}"
    store = Store.open(url)
    with TestClient(create_app(Settings(database_url=url), store=store)) as client:
        yield client, store
    store.close()


def load(client: TestClient, store: Store) -> dict[str, str]:
    key, admin = store.create_key("ingest"), store.create_key("admin")
    batch = [identify(f"other-{i}", name=f"Person {i}", email=f"p{i}@example.org")
             for i in range(50)]
    batch.insert(20, identify("zeb", name=NAME, email=EMAIL,
                              address={"street": STREET, "city": "Bergen"}))
    batch.append({"type": "track", "event": "Product Viewed", "userId": "zeb",
                  "properties": {"product_id": "p1"}, "timestamp": "2026-01-01T11:00:00Z",
                  "messageId": "zeb-view"})
    r = client.post("/v1/batch", json={"batch": batch}, headers=basic(key))
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {admin}"}


@pytest.mark.parametrize("checkpointed", [False, True], ids=["in-wal", "in-db-file"])
def test_erase_leaves_no_bytes_in_the_db_or_the_wal(
        server: tuple[TestClient, Store], db: Path, checkpointed: bool) -> None:
    client, store = server
    admin = load(client, store)
    if checkpointed:
        # The person's rows already copied into the database file itself.
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert left_in(db) == SECRETS  # the test can see them before
    r = client.delete("/v1/profiles/zeb", headers=admin)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"profile_id", "matched_by", "rows", "erased"}
    assert left_in(db) == []
    # Everyone else is still there.
    assert store.stats()["profiles"] == 50


def test_a_reader_holding_the_wal_is_waited_for_then_reported(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(erasure, "WAL_WAIT_SECONDS", 0.3)
    store = Store.open(f"sqlite:///{db}")
    reader = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        Ingestor(store).ingest_events([identify("zeb", name=NAME, email=EMAIL)])
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM events").fetchone()  # holds a read snapshot
        # A reader that never lets go: the erase is committed, the log's state reported.
        out = store.erase_person("zeb")
        assert out["rows"]["profiles"] == 1
        assert len(out["warnings"]) == 1 and "store.db-wal" in out["warnings"][0]
        assert store.stats()["profiles"] == 0
        # One that lets go while the truncation waits: it completes.
        threading.Timer(0.3, reader.rollback).start()
        assert erasure.truncate_wal(store.engine, wait_seconds=5) is None
        assert left_in(db) == []
    finally:
        reader.close()
        store.close()


def test_the_http_answer_reports_a_log_it_could_not_truncate(
        server: tuple[TestClient, Store], db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(erasure, "WAL_WAIT_SECONDS", 0.2)
    client, store = server
    admin = load(client, store)
    reader = sqlite3.connect(db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM profiles").fetchone()
        r = client.delete("/v1/profiles/zeb", headers=admin)
    finally:
        reader.close()
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"profile_id", "matched_by", "rows", "erased", "warnings"}
    assert "wal_checkpoint(TRUNCATE)" in r.json()["warnings"][0]
