"""`tailored evaluate` with split files and with a split of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.conftest import dataset

KEYS = {"precision@10", "recall@10", "f1@10", "ndcg@10", "map@10", "mrr@10", "hit_rate@10",
        "coverage@10"}


def _write(path: Path, rows: list[tuple[str, str]], header: str = "user_id,item_id") -> Path:
    path.write_text(header + "\n" + "".join(f"{u},{i}\n" for u, i in rows))
    return path


@pytest.fixture
def files(tmp_path: Path) -> Path:
    train = [(f"u{u}", f"{'ab'[u % 2]}{(u + j) % 5}") for u in range(10) for j in range(3)]
    test = [(f"u{u}", f"{'ab'[u % 2]}{(u + 3) % 5}") for u in range(10)]
    _write(tmp_path / "train.csv", train)
    _write(tmp_path / "test.csv", test)
    cands = [(u, i) for u, i in test] + [(f"u{u}", f"{'ba'[u % 2]}1") for u in range(10)]
    _write(tmp_path / "cands.csv", cands)
    return tmp_path


def test_evaluate_with_files_prints_the_contract_keys(files: Path) -> None:
    r = run(["evaluate", "--model", "item-knn", "--train", "train.csv", "--test", "test.csv",
             "--k", "10", "--json"], files)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["model"] == "item-knn" and out["k"] == 10 and "train_seconds" in out
    assert set(out["metrics"]) >= KEYS
    assert out["metrics"]["hit_rate@10"] > 0.5


def test_candidates_restrict_the_ranking(files: Path) -> None:
    r = run(["evaluate", "--model", "popular", "--train", "train.csv", "--test", "test.csv",
             "--candidates", "cands.csv", "--k", "1", "--json"], files)
    out = json.loads(r.stdout)
    assert out["metrics"]["coverage@1"] <= 1.0 and out["users_evaluated"] == 10


def test_a_split_file_without_a_column_names_it(files: Path) -> None:
    _write(files / "bad.csv", [("u1", "a1")], header="user,item_id")
    r = run(["evaluate", "--model", "popular", "--train", "bad.csv", "--test", "test.csv"],
            files)
    assert r.returncode == 1 and "user_id" in r.stderr and "Traceback" not in r.stderr


def test_test_people_absent_from_training_are_refused(files: Path) -> None:
    _write(files / "other.csv", [("x1", "a1"), ("x2", "b2")])
    r = run(["evaluate", "--model", "popular", "--train", "train.csv", "--test", "other.csv"],
            files)
    assert r.returncode == 1 and "is in the training table" in r.stderr and "x1" in r.stderr


def test_k_zero_and_an_unknown_model_are_refused(files: Path) -> None:
    args = ["--train", "train.csv", "--test", "test.csv"]
    assert run(["evaluate", "--model", "popular", "--k", "0", *args], files).returncode == 2
    r = run(["evaluate", "--model", "magic", *args], files)
    assert r.returncode == 1 and "unknown model" in r.stderr


@pytest.mark.dataset
def test_movielens_leave_last_10_item_knn_beats_popular(tmp_path: Path) -> None:
    folder = dataset("ml-100k")
    scores = {}
    for model in ("popular", "item-knn"):
        r = run(["evaluate", "--model", model, "--movielens", str(folder), "--split",
                 "leave-last", "--n", "10", "--json"], tmp_path)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["users_evaluated"] == 943
        scores[model] = out["metrics"]["ndcg@10"]
    assert scores["item-knn"] > scores["popular"]
