"""Splitting protocols: sizes, no leakage, determinism, and the files splits come from."""

from __future__ import annotations

import datetime as dt
import doctest
import gzip
import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from tailored.evaluate import (
    InteractionTable,
    Split,
    leave_last_n_split,
    leave_one_out_split,
    per_user_random_split,
    random_split,
    read_split_file,
    strong_generalization_split,
    temporal_split,
    validation_split,
)
from tests.conftest import dataset


def synthetic(n_users: int = 60, n_items: int = 80, seed: int = 3,
              repeats: bool = True) -> InteractionTable:
    """Users with 1–30 items each, shuffled timestamps, and (optionally) repeated events."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for user in range(n_users):
        chosen = rng.choice(n_items, int(rng.integers(1, 31)), replace=False)
        users += [user] * len(chosen)
        items += chosen.tolist()
    users, items = np.array(users), np.array(items)
    if repeats:  # a tenth of the events happen twice
        again = rng.random(len(users)) < 0.1
        users, items = np.r_[users, users[again]], np.r_[items, items[again]]
    timestamps = rng.permutation(len(users)) * 10
    ratings = rng.integers(1, 11, len(users)) / 2
    return InteractionTable(users, items, timestamps, ratings)


def pairs(table: InteractionTable) -> set[tuple[int, int]]:
    return set(zip(table.users.tolist(), table.items.tolist(), strict=True))


def assert_no_leak(split: Split, whole: InteractionTable) -> None:
    assert not pairs(split.train) & pairs(split.test), "a test item is in its user's train"
    assert len(split.train) + len(split.test) <= len(whole)


def same(a: InteractionTable, b: InteractionTable) -> bool:
    return all(np.array_equal(x, y) for x, y in
               zip((a.users, a.items, a.timestamps), (b.users, b.items, b.timestamps),
                   strict=True))


TABLE = synthetic()


def test_interaction_table_refuses_ragged_or_nested_columns() -> None:
    with pytest.raises(ValueError, match="items has 1 rows"):
        InteractionTable([1, 2], [3])
    with pytest.raises(ValueError, match="one-dimensional"):
        InteractionTable([[1, 2]], [[3, 4]])


def test_random_split_sends_the_fraction_of_pairs_to_test() -> None:
    split = random_split(TABLE, test_fraction=0.25, seed=1)
    n_pairs = len(pairs(TABLE))
    # 0.25 × 962 = 240.5: halves round up
    assert n_pairs == 962 and len(pairs(split.test)) == 241
    # Every row lands on one side: repeats follow their pair.
    assert len(split.train) + len(split.test) == len(TABLE)
    assert_no_leak(split, TABLE)


def test_random_splits_are_deterministic_by_seed() -> None:
    assert same(random_split(TABLE, seed=5).test, random_split(TABLE, seed=5).test)
    assert not same(random_split(TABLE, seed=5).test, random_split(TABLE, seed=6).test)
    one, two = per_user_random_split(TABLE, seed=5), per_user_random_split(TABLE, seed=5)
    assert same(one.train, two.train) and same(one.test, two.test)
    assert not same(one.test, per_user_random_split(TABLE, seed=6).test)


def test_per_user_random_split_takes_a_fifth_of_each_user() -> None:
    split = per_user_random_split(TABLE, test_fraction=0.2, seed=0)
    assert_no_leak(split, TABLE)
    assert len(split.train) + len(split.test) == len(TABLE)
    train, test = split.train.item_sets(), split.test.item_sets()
    for user, items in TABLE.item_sets().items():
        n = len(items)
        # round(0.2 n), halves up, leaving at least one item to train on
        expected = min(int(np.floor(0.2 * n + 0.5)), n - 1)
        assert len(test.get(user, ())) == expected, user
        assert train[user] | test.get(user, set()) == items


def test_per_user_random_split_keeps_single_item_users_in_train() -> None:
    table = InteractionTable(users=[1, 2, 2, 2, 2, 2], items=[9, 1, 2, 3, 4, 5])
    split = per_user_random_split(table, test_fraction=0.5)
    # user 1: one item, stays; user 2: round(2.5) = 3 (halves up) to test
    assert split.test.item_sets().keys() == {2}
    assert len(split.test) == 3 and 1 in split.train.item_sets()


def test_leave_last_n_takes_the_latest_n_items_of_each_user() -> None:
    table = synthetic(repeats=False)
    split = leave_last_n_split(table, n=3)
    assert_no_leak(split, table)
    for user, items in table.item_sets().items():
        mine = table.users == user
        latest = set(table.items[mine][np.argsort(table.timestamps[mine])][-3:].tolist())
        test = split.test.item_sets().get(user, set())
        assert test == (latest if len(items) > 3 else set()), user
    # Nothing is lost without repeated events.
    assert len(split.train) + len(split.test) == len(table)


def test_leave_last_n_drops_reconsumptions_and_keeps_train_before_test() -> None:
    # u watches a (t1), b (t2), a again (t3), c (t4). n=2: the two newest discoveries are b
    # and c; the cut is b's first event; a at t3 is a re-watch after the cut: dropped.
    table = InteractionTable(["u"] * 4, ["a", "b", "a", "c"], timestamps=[1, 2, 3, 4])
    split = leave_last_n_split(table, n=2)
    assert split.train.items.tolist() == ["a"] and split.train.timestamps.tolist() == [1]
    assert split.test.items.tolist() == ["b", "c"]


def test_leave_last_n_breaks_timestamp_ties_by_row_order() -> None:
    table = InteractionTable([1, 1, 1], [10, 20, 30], timestamps=[5, 5, 5])
    assert leave_one_out_split(table).test.items.tolist() == [30]


def test_leave_one_out_is_leave_last_one() -> None:
    one, last = leave_one_out_split(TABLE), leave_last_n_split(TABLE, n=1)
    assert same(one.test, last.test) and same(one.train, last.train)
    assert all(len(items) == 1 for items in one.test.item_sets().values())
    assert_no_leak(one, TABLE)


def test_temporal_split_cuts_at_a_moment() -> None:
    split = temporal_split(TABLE, at=3000)
    assert split.train.timestamps.max() < 3000 <= split.test.timestamps.min()
    assert_no_leak(split, TABLE)
    # The only rows lost are re-consumptions of items met before the cut.
    lost = len(TABLE) - len(split.train) - len(split.test)
    later = TABLE.take(TABLE.timestamps >= 3000)
    assert lost == sum(pair in pairs(split.train) for pair in zip(
        later.users.tolist(), later.items.tolist(), strict=True))


def test_temporal_split_cuts_at_a_fraction() -> None:
    table = synthetic(repeats=False)  # distinct timestamps, no repeats: exact sizes
    split = temporal_split(table, test_fraction=0.3)
    assert len(split.test) == round(0.3 * len(table))
    assert split.train.timestamps.max() < split.test.timestamps.min()


@pytest.mark.parametrize("split", [leave_one_out_split, temporal_split])
def test_temporal_splits_need_timestamps(split: Callable[..., Split]) -> None:
    with pytest.raises(ValueError, match="timestamps"):
        split(InteractionTable([1, 1], [2, 3]), **({"at": 1} if split is temporal_split else {}))


def test_validation_split_only_carves_the_training_rows() -> None:
    outer = per_user_random_split(TABLE, seed=0)
    inner = validation_split(outer.train, protocol="per_user_random", seed=1)
    assert_no_leak(inner, outer.train)
    assert pairs(inner.train) | pairs(inner.test) == pairs(outer.train)
    assert not (pairs(inner.test) & pairs(outer.test))
    temporal = validation_split(outer.train, protocol="leave_last_n", n=2)
    assert all(len(items) <= 2 for items in temporal.test.item_sets().values())


@pytest.mark.parametrize(("call", "message"), [
    (lambda: random_split(TABLE, test_fraction=0), "test_fraction"),
    (lambda: random_split(TABLE, test_fraction=1.5), "test_fraction"),
    (lambda: per_user_random_split(TABLE, test_fraction=-0.2), "test_fraction"),
    (lambda: leave_last_n_split(TABLE, n=0), "n must be a positive integer"),
    (lambda: leave_last_n_split(TABLE, n=-2), "n must be a positive integer"),
    (lambda: temporal_split(TABLE), "exactly one"),
    (lambda: temporal_split(TABLE, at=5, test_fraction=0.2), "exactly one"),
    (lambda: validation_split(TABLE, protocol="bogus"), "unknown protocol"),
    (lambda: random_split(InteractionTable([], [])), "empty"),
    (lambda: strong_generalization_split(TABLE, n_heldout=0), "n_heldout"),
    (lambda: strong_generalization_split(TABLE, n_heldout=1000), "too few"),
    (lambda: strong_generalization_split(InteractionTable([], []), n_heldout=1), "empty"),
])
def test_bad_arguments_are_value_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_strong_generalization_proportions() -> None:
    rng = np.random.default_rng(0)
    # 40 users; user u rates 3 + u items, half of them 5 stars and half 3 stars (dropped at
    # the 3.5 threshold). Users 0–6 keep fewer than 5 four-plus ratings and are dropped.
    users, items, ratings = [], [], []
    for user in range(40):
        n = 3 + user
        users += [user] * n
        items += rng.choice(100, n, replace=False).tolist()
        ratings += [5.0 if i % 2 == 0 else 3.0 for i in range(n)]
    table = InteractionTable(users, items, ratings=ratings)
    split = strong_generalization_split(table, n_heldout=5, seed=1)
    kept = {u for u in range(40) if (3 + u + 1) // 2 >= 5}
    groups = [set(part.users.tolist()) for part in (split.train, split.validation_fold_in,
                                                   split.test_fold_in)]
    assert len(groups[1]) == len(groups[2]) == 5
    assert set().union(*groups) == kept and sum(map(len, groups)) == len(kept)
    assert all((part.ratings > 3.5).all() for part in (split.train, split.test_holdout))
    train_items = set(split.train.items.tolist())
    for fold_in, holdout in ((split.validation_fold_in, split.validation_holdout),
                             (split.test_fold_in, split.test_holdout)):
        assert set(holdout.items.tolist()) <= train_items
        assert not pairs(fold_in) & pairs(holdout)
        for user, scored in holdout.item_sets().items():
            folded = fold_in.item_sets()[user]
            n = len(scored) + len(folded)
            assert len(scored) == int(0.2 * n), user  # 20%, rounded down
    again = strong_generalization_split(table, n_heldout=5, seed=1)
    assert same(split.test_holdout, again.test_holdout)


@pytest.mark.dataset
def test_strong_generalization_reproduces_the_reference_split() -> None:
    # Sizes, user counts and an order-free fingerprint (Σ userId · 100003 + movieId) that
    # the preprocessing of Liang et al. (dawenl/vae_cf, as RecVAE's preprocessing.py; run
    # with pandas, seed 98765, 50 held-out users) gives on MovieLens latest-small.
    ratings = pa_csv.read_csv(dataset("ml-latest-small", "ratings.csv.gz"))
    table = InteractionTable(*(ratings.column(c).to_numpy() for c in
                               ("userId", "movieId", "timestamp", "rating")))
    split = strong_generalization_split(table, n_heldout=50)
    reference = {
        "train": (39618, 503, 1219469135975),
        "validation_fold_in": (4141, 50, 167129735921),
        "validation_holdout": (1008, 50, 40871642582),
        "test_fold_in": (2546, 50, 71429404408),
        "test_holdout": (609, 49, 16949935020),
    }
    for name, expected in reference.items():
        part = getattr(split, name)
        fingerprint = int((part.users.astype(np.int64) * 100003 + part.items).sum())
        assert (len(part), len(np.unique(part.users)), fingerprint) == expected, name
    assert len(np.unique(split.train.items)) == 5697


def test_read_split_file_csv_keeps_ids_as_text(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    path.write_text("user_id,item_id,rating,timestamp,extra\n007,NA,4.5,100,x\n8,9,3,"
                    "200,y\n")
    table = read_split_file(path)
    assert table.users.tolist() == ["007", "8"] and table.items.tolist() == ["NA", "9"]
    assert table.ratings.tolist() == [4.5, 3.0] and table.timestamps.tolist() == [100, 200]


def test_read_split_file_parquet_and_gzip(tmp_path: Path) -> None:
    when = [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 2, tzinfo=dt.UTC)]
    pq.write_table(pa.table({"user_id": [1, 2], "item_id": ["a", "b"], "timestamp": when}),
                   tmp_path / "train.parquet")
    table = read_split_file(tmp_path / "train.parquet")
    assert table.users.tolist() == ["1", "2"] and table.ratings is None
    assert table.timestamps.tolist() == [1704067200, 1704153600]
    (tmp_path / "test.csv.gz").write_bytes(gzip.compress(b"user_id,item_id\n1,a\n"))
    assert read_split_file(tmp_path / "test.csv.gz").items.tolist() == ["a"]


def test_read_split_file_names_a_missing_column_and_lists_the_present(tmp_path: Path) -> None:
    path = tmp_path / "test.csv"
    path.write_text("user_id,rating\n1,4\n")
    with pytest.raises(ValueError, match=r"missing column 'item_id'.*user_id, rating") as info:
        read_split_file(path)
    assert info.value.field == "item_id"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("empty.csv", "user_id,item_id\n", "no rows"),
    ("hole.csv", "user_id,item_id\n1,\n", "empty item_id"),
    ("bad.csv", "user_id,item_id,rating\n1,2,good\n", "rating must be numbers"),
    ("when.csv", "user_id,item_id,timestamp\n1,2,yesterday\n", "timestamp must be"),
    ("data.json", "{}", ".csv or .parquet"),
])
def test_read_split_file_refuses_bad_files(tmp_path: Path, name: str, text: str,
                                           message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_split_file(path)


@pytest.mark.parametrize("module", ["splits", "strong_generalization", "table"])
def test_docstring_examples_hold(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"tailored.evaluate.{module}"))
    assert result.attempted > 0 and result.failed == 0
