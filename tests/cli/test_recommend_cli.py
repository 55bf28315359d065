"""`tailored train`, `recommend` and `similar` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tailored.store import Store
from tests.cli.test_cli import run


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    lines = [json.dumps({"type": "track", "event": "Order Completed", "userId": f"u{u}",
                         "messageId": f"m{u}-{i}", "timestamp": "2026-01-01T00:00:00Z",
                         "properties": {"products": [{"product_id": item}]}})
             for u in range(8) for i in range(3) for item in [f"{'ab'[u % 2]}{(u + i) % 4}"]]
    (tmp_path / "e.jsonl").write_text("\n".join(lines) + "\n")
    assert run(["ingest", "e.jsonl"], tmp_path).returncode == 0
    return tmp_path


def test_train_then_recommend_and_similar(shop: Path) -> None:
    trained = run(["train", "--model", "item-knn", "--json"], shop)
    assert trained.returncode == 0, trained.stderr
    meta = json.loads(trained.stdout)
    assert meta["users"] == 8 and (shop / meta["path"]).exists()
    r = run(["recommend", "u0", "-k", "2", "--json"], shop)
    body = json.loads(r.stdout)
    assert set(body) >= {"user", "model", "items"} and len(body["items"]) == 2
    assert all(set(i) >= {"item_id", "score", "reason"} for i in body["items"])
    s = json.loads(run(["similar", "a1", "-k", "2", "--json"], shop).stdout)
    assert len(s["items"]) == 2 and all("a1" in i["reason"] for i in s["items"])


def test_recommend_before_training_says_what_to_run(shop: Path) -> None:
    r = run(["recommend", "u0"], shop)
    assert r.returncode == 1 and "tailored train" in r.stderr and "Traceback" not in r.stderr


def test_train_an_unknown_model_or_an_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    r = run(["train", "--model", "magic"], tmp_path)
    assert r.returncode == 1 and "unknown model" in r.stderr
    r = run(["train", "--model", "popular"], tmp_path)
    assert r.returncode == 1 and "no store at sqlite:///tailored.db" in r.stderr
    Store.open(f"sqlite:///{tmp_path / 'tailored.db'}").close()
    r = run(["train", "--model", "popular"], tmp_path)
    assert r.returncode == 1 and "no person-item interactions" in r.stderr


def test_similar_to_an_unknown_item_is_a_clear_error(shop: Path) -> None:
    assert run(["train", "--model", "popular"], shop).returncode == 0
    r = run(["similar", "zzz", "--model", "popular"], shop)
    assert r.returncode == 1 and "zzz" in r.stderr and "Traceback" not in r.stderr


def test_a_model_trained_on_another_catalogue_asks_for_a_retrain(shop: Path) -> None:
    assert run(["train", "--model", "item-knn"], shop).returncode == 0
    (shop / "items.jsonl").write_text(json.dumps({"item_id": "a9", "title": "New"}) + "\n")
    assert run(["import", "jsonl", "items.jsonl", "--kind", "items", "--map", "item_id=item_id",
                "--map", "title=title"], shop).returncode == 0
    r = run(["recommend", "u0"], shop)
    assert r.returncode == 1 and "catalogue changed" in r.stderr and "tailored train" in r.stderr
    assert run(["train", "--model", "item-knn"], shop).returncode == 0
    assert run(["recommend", "u0"], shop).returncode == 0


def test_filters_that_match_nothing_give_an_empty_list_and_why(shop: Path) -> None:
    assert run(["train", "--model", "item-knn"], shop).returncode == 0
    r = run(["recommend", "u0", "--brand", "Nope", "--json"], shop)
    body = json.loads(r.stdout)
    assert r.returncode == 0 and body["items"] == []
    assert body["note"].startswith("no item is of brand Nope among the 8 items")


def test_lists_carry_titles_and_item_fields_and_similar_uses_the_model_asked(
        shop: Path) -> None:
    items = [{"item_id": f"{c}{n}", "title": f"Film {c}{n}", "category": "Films > Drama",
              "price": 3.5 + n, "image_url": f"https://img.example/{c}{n}.jpg",
              "url": f"https://shop.example/{c}{n}"} for c in "ab" for n in range(4)]
    (shop / "items.jsonl").write_text("\n".join(json.dumps(i) for i in items) + "\n")
    r = run(["import", "jsonl", "items.jsonl", "--kind", "items", "--map", "item_id=item_id",
             "--map", "title=title", "--map", "category=category", "--map", "price=price",
             "--map", "image_url=image_url", "--map", "attributes.url=url"], shop)
    assert r.returncode == 0, r.stderr
    for model in ("ease", "item-knn"):
        assert run(["train", "--model", model], shop).returncode == 0
    body = json.loads(run(["recommend", "u0", "-k", "2", "--json"], shop).stdout)
    first = body["items"][0]
    assert first["title"] == f"Film {first['item_id']}" and first["price"] > 3
    assert first["category"] == ["Films", "Drama"] and first["image_url"].endswith(".jpg")
    assert "Film" in run(["recommend", "u0", "-k", "2"], shop).stdout  # the table shows titles
    for model in ("ease", "item-knn"):
        s = json.loads(run(["similar", "a1", "--model", model, "-k", "2", "--json"],
                           shop).stdout)
        assert s["model"] == model and s["title"] == "Film a1"
        assert all(i["title"].startswith("Film") for i in s["items"])


def test_train_json_says_what_a_blend_chose(shop: Path) -> None:
    r = run(["train", "--model", "hybrid", "--json"], shop)
    assert r.returncode == 0, r.stderr
    chosen = json.loads(r.stdout)["chosen"]
    assert chosen["models"] and set(chosen["weights"]) == set(chosen["models"])
    assert abs(sum(chosen["weights"].values()) - 1) < 1e-6
    assert "chose " in run(["train", "--model", "hybrid"], shop).stdout


def test_auto_reports_its_choice_and_trials(shop: Path) -> None:
    from tailored.recommend.model_store import FolderModels
    from tailored.recommend.training import train_from_store
    from tailored.store import Store

    with Store.open(f"sqlite:///{shop / 'tailored.db'}") as store:
        _, meta = train_from_store(store, "auto", FolderModels(shop / "m"), params={
            "candidates": ["ease", "item-knn"], "n_trials": 2})
    chosen = meta["chosen"]
    assert chosen["model"] in ("ease", "item-knn", "hybrid")
    assert {t["model"] for t in chosen["trials"]} >= {"ease", "item-knn"}
    assert all("ndcg" in t and "params" in t for t in chosen["trials"])


def test_train_ease_says_which_recency_validation_chose(shop: Path) -> None:
    r = run(["train", "--model", "ease"], shop)
    assert r.returncode == 0 and "recency chosen by validation" in r.stdout, r.stderr
    chosen = json.loads(run(["train", "--model", "ease", "--json"], shop).stdout)["chosen"]
    assert "recency_half_life" in chosen and "recency_validation_ndcg" in chosen
