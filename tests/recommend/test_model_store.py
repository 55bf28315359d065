"""Trained models live with their store: beside a SQLite file, in the database for
PostgreSQL; the last trained answers unless told; only trained names are ever looked up."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.errors import InvalidInput, NotFound
from tailored.ingest import Ingestor
from tailored.recommend.model_store import FolderModels, TableModels, open_models
from tailored.recommend.training import ModelCache, train_from_store
from tailored.store import Store
from tests.cli.test_cli import run

EVENTS = [{"type": "track", "event": "Order Completed", "userId": f"u{u}",
           "messageId": f"m{u}-{i}", "timestamp": "2026-01-01T00:00:00Z",
           "properties": {"products": [{"product_id": f"{'ab'[u % 2]}{(u + i) % 4}"}]}}
          for u in range(8) for i in range(3)]


def write_events(folder: Path) -> Path:
    path = folder / "e.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    return path


def test_models_are_saved_beside_the_sqlite_file_not_in_the_current_folder(
        tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "elsewhere").mkdir()
    events = write_events(tmp_path)
    db = f"sqlite:///{tmp_path / 'data' / 'shop.db'}"
    assert run(["--db", db, "ingest", str(events)], tmp_path / "elsewhere").returncode == 0
    r = run(["--db", db, "train", "--model", "item-knn", "--json"], tmp_path / "elsewhere")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["path"] == str(tmp_path / "data" / "shop.db.models" /
                                               "item-knn.npz")
    assert not (tmp_path / "elsewhere" / "tailored-models").exists()
    # The same store opened from another folder finds its model.
    r = run(["--db", db, "recommend", "u0", "--json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["model"] == "item-knn"


def test_two_stores_keep_their_own_models(tmp_path: Path) -> None:
    events = write_events(tmp_path)
    one, two = f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}"
    for db, model in ((one, "popular"), (two, "item-knn")):
        assert run(["--db", db, "ingest", str(events)], tmp_path).returncode == 0
        assert run(["--db", db, "train", "--model", model], tmp_path).returncode == 0
    for db, model in ((one, "popular"), (two, "item-knn")):
        r = run(["--db", db, "recommend", "u0", "--json"], tmp_path)
        assert json.loads(r.stdout)["model"] == model
    r = run(["--db", one, "recommend", "u0", "--model", "item-knn"], tmp_path)
    assert r.returncode == 1 and "no trained 'item-knn' model" in r.stderr


def test_recommend_uses_the_model_trained_last_and_a_misspelling_names_the_trained(
        tmp_path: Path) -> None:
    assert run(["ingest", str(write_events(tmp_path))], tmp_path).returncode == 0
    for model in ("item-knn", "popular"):
        assert run(["train", "--model", model], tmp_path).returncode == 0
    assert json.loads(run(["recommend", "u0", "--json"], tmp_path).stdout)["model"] == "popular"
    assert json.loads(run(["similar", "a1", "--json"], tmp_path).stdout)["model"] == "popular"
    r = run(["recommend", "u0", "--model", "itemknn"], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "trained: item-knn, popular" in r.stderr and "did you mean 'item-knn'" in r.stderr
    r = run(["similar", "a1", "--model", "populr"], tmp_path)
    assert r.returncode == 1 and "did you mean 'popular'" in r.stderr


def test_a_store_with_no_model_says_to_train_one(tmp_path: Path) -> None:
    assert run(["ingest", str(write_events(tmp_path))], tmp_path).returncode == 0
    r = run(["recommend", "u0"], tmp_path)
    assert r.returncode == 1 and "no model is trained" in r.stderr
    assert "tailored train" in r.stderr


@pytest.fixture
def trained(store: Store, store_url: str) -> Store:
    assert not Ingestor(store).ingest_events(EVENTS).rejected
    return store


def test_each_backend_keeps_models_with_the_store(trained: Store, store_url: str) -> None:
    models = open_models(trained, Settings(database_url=store_url).models_folder())
    kind = FolderModels if store_url.startswith("sqlite") else TableModels
    assert isinstance(models, kind)
    assert models.names() == [] and models.latest() is None
    train_from_store(trained, "item-knn", models)
    train_from_store(trained, "popular", models)
    assert models.names() == ["item-knn", "popular"] and models.latest() == "popular"
    assert models.resolve(None) == "popular" and models.resolve(None, "item-knn") == "item-knn"
    before = models.stamp("item-knn")
    model = models.load("item-knn")
    assert [r.item_id for r in model.recommend("u0", 3)] and before is not None
    # Saving again (an erasure rewriting a model) changes the stamp, not which is latest.
    models.save(model, model.metadata_)
    assert models.stamp("item-knn") != before and models.latest() == "popular"


def test_model_files_are_memory_mapped(trained: Store, tmp_path: Path) -> None:
    models = FolderModels(tmp_path / "m")
    fitted, _ = train_from_store(trained, "ease", models)
    loaded = models.load("ease")
    assert isinstance(loaded.weights_, np.memmap)  # type: ignore[attr-defined]
    assert [r.item_id for r in loaded.recommend("u0", 3)] == [
        r.item_id for r in fitted.recommend("u0", 3)]


@pytest.mark.parametrize("name", ["../item-knn", "/etc/passwd", "item-knn/../item-knn",
                                  "./item-knn", "ITEM-KNN", "item-knn.npz", "..", ""])
def test_only_names_of_trained_models_are_accepted(trained: Store, tmp_path: Path,
                                                   name: str) -> None:
    models = FolderModels(tmp_path / "m")
    train_from_store(trained, "item-knn", models)
    with pytest.raises((InvalidInput, NotFound)) as error:
        models.load(name) if name else models.resolve("x")
    assert "item-knn" in str(error.value)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.fixture
def client(trained: Store, store_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=store_url)
    train_from_store(trained, "item-knn", open_models(trained, settings.models_folder()))
    # A model file outside the models folder that a traversal could reach.
    outside = tmp_path / "outside"
    train_from_store(trained, "popular", FolderModels(outside))
    with TestClient(create_app(settings, store=trained)) as c:
        yield c


def test_model_parameter_refuses_paths_and_keeps_one_copy_per_model(
        client: TestClient, trained: Store, tmp_path: Path) -> None:
    read = auth(trained.create_key("read"))
    spellings = ["../outside/popular", str(tmp_path / "outside" / "popular"),
                 "item-knn/../item-knn", "./item-knn", "item-knn/", "x/../../item-knn"]
    for spelling in spellings:
        r = client.get("/v1/recommendations/u0", params={"model": spelling}, headers=read)
        assert r.status_code in (400, 404), (spelling, r.text)
        assert "item-knn" in r.text  # names the trained model
    r = client.get("/v1/recommendations/u0", params={"model": "itemknn"}, headers=read)
    assert r.status_code == 400 and "did you mean 'item-knn'" in r.text
    assert client.get("/v1/recommendations/u0", headers=read).json()["model"] == "item-knn"
    r = client.get("/v1/recommendations/u0", params={"model": "item-knn"}, headers=read)
    assert r.status_code == 200
    cache: ModelCache = client.app.state.models  # type: ignore[attr-defined]
    assert len(cache.loaded()) == 1


def test_serving_a_saved_model_imports_no_training_machinery(trained: Store,
                                                               tmp_path: Path) -> None:
    """What a CLI recommend pays for at start-up: no scikit-learn, Optuna, implicit,
    pandas or snapshot writer to answer from a saved EASE model."""
    import subprocess
    import sys

    train_from_store(trained, "ease", FolderModels(tmp_path / "m"))
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tailored.recommend.model_store import FolderModels\n"
        f"m = FolderModels(Path({str(tmp_path / 'm')!r})).load('ease')\n"
        "assert m.recommend('u0', 3)\n"
        "heavy = [n for n in ('sklearn', 'optuna', 'implicit', 'pandas', "
        "'tailored.store.snapshots', 'scipy.linalg') if n in sys.modules]\n"
        "print(','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
