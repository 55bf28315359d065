"""Erasure reaches trained models: saved and loaded, through the server and the CLI."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tailored.api.app import create_app
from tailored.cli.app import app as cli_app
from tailored.config import Settings
from tailored.ingest import Ingestor
from tailored.recommend.model_store import open_models
from tailored.recommend.training import train_from_store
from tailored.store import Store

MODELS = ("item-knn", "user-knn", "ease")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def orders(user: str, products: list[str], n: int) -> list[dict[str, Any]]:
    return [{"type": "track", "event": "Order Completed", "userId": user,
             "messageId": f"{user}-{n}-{p}", "timestamp": "2026-01-01T00:00:00Z",
             "properties": {"products": [{"product_id": p}]}} for p in products]


@pytest.fixture
def trained(store: Store, store_url: str) -> Settings:
    events = [e for u in range(8) for e in orders(f"u{u}", [f"{'ab'[u % 2]}{(u + i) % 4}"
                                                           for i in range(3)], u)]
    # zeb alone bought the rare item; it would be cited in zeb's reasons.
    events += orders("zeb", ["a0", "a1", "rare-sku"], 99)
    assert not Ingestor(store).ingest_events(events).rejected
    settings = Settings(database_url=store_url)
    for name in MODELS:
        train_from_store(store, name, open_models(store, settings.models_folder()))
    return settings


def saved_bytes(store: Store, settings: Settings, name: str) -> bytes:
    folder = settings.models_folder()
    if folder is not None:
        return (folder / f"{name}.npz").read_bytes()
    from tailored.store.tables import trained_models

    with store.reading() as conn:
        return bytes(conn.execute(trained_models.select().where(
            trained_models.c.name == name)).one().data)


@pytest.fixture
def client(store: Store, trained: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(trained, store=store)) as c:
        yield c


def test_erase_through_the_server_forgets_them_in_every_model(
        client: TestClient, store: Store, trained: Settings) -> None:
    read, admin = auth(store.create_key("read")), auth(store.create_key("admin"))
    pid = store.find_profile("zeb")
    for name in MODELS:  # loaded by the server
        r = client.get(f"/v1/recommendations/zeb?k=3&model={name}", headers=read)
        assert r.status_code == 200, r.text
        assert any("don't know" not in i["reason"] for i in r.json()["items"])
        assert pid.encode("utf-32-le") in saved_bytes(store, trained, name)
    r = client.delete("/v1/profiles/zeb", headers=admin)
    assert r.status_code == 200, r.text
    assert "warnings" not in r.json()
    for name in MODELS:
        # By the old profile id too: the model itself no longer holds them.
        for who in ("zeb", pid):
            body = client.get(f"/v1/recommendations/{who}?k=3&model={name}",
                              headers=read).json()
            stranger = client.get(f"/v1/recommendations/stranger?k=3&model={name}",
                                  headers=read).json()
            assert body["items"] == stranger["items"], name
        assert pid.encode("utf-32-le") not in saved_bytes(store, trained, name)
        model = open_models(store, trained.models_folder()).load(name)
        assert pid not in model.interactions_.user_ids.tolist()
        assert model.metadata_["forgotten_people"] == 1
    # Everyone else is still served from the same models.
    r = client.get("/v1/recommendations/u1?k=2&model=item-knn", headers=read)
    assert any("don't know" not in i["reason"] for i in r.json()["items"])


def test_cli_erase_rewrites_the_saved_models(store: Store, store_url: str,
                                             trained: Settings) -> None:
    pid = store.find_profile("zeb")
    runner = CliRunner()
    r = runner.invoke(cli_app, ["--db", store_url, "erase", "zeb", "--yes"])
    assert r.exit_code == 0, r.output
    assert "forgotten by the trained models" in r.output
    r = runner.invoke(cli_app, ["--db", store_url, "recommend", pid, "--model", "item-knn",
                                "--json"])
    assert r.exit_code == 0, r.output
    assert all("don't know" in i["reason"] for i in json.loads(r.stdout)["items"])
    for name in MODELS:
        assert pid.encode("utf-32-le") not in saved_bytes(store, trained, name)
