"""Recency: each pair's latest time, a validation split by time, and EASE reading a history
newest first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tailored.errors import InvalidInput
from tailored.recommend import Interactions, Recommender
from tailored.recommend.ease import EASE
from tailored.recommend.hybrid import Hybrid, carve_validation


def _two_tastes() -> Interactions:
    """People who like x also like x2; people who like y also like y2. Person "p" met x long
    ago and y just now."""
    users, items, times = [], [], []
    for n in range(20):
        for item in ("x", "x2"):
            users.append(f"a{n}"), items.append(item), times.append(n)
        for item in ("y", "y2"):
            users.append(f"b{n}"), items.append(item), times.append(n)
    users += ["p", "p"]
    items += ["x", "y"]
    times += [100, 200]
    return Interactions.from_arrays(users, items, timestamps=times)


def test_last_seen_keeps_each_pairs_latest_time() -> None:
    d = Interactions.from_arrays(["a", "a", "a"], ["x", "x", "y"], timestamps=[5, 9, 7])
    assert d.last_seen is not None
    assert d.last_seen[0, d.item_index["x"]] == 10.0  # seconds + 1: no stored zero
    assert d.last_seen[0, d.item_index["y"]] == 8.0
    dates = np.array(["2026-01-01T00:00:00", "2026-01-02T00:00:00"], dtype="datetime64[s]")
    d2 = Interactions.from_arrays(["a", "a"], ["x", "y"], timestamps=dates)
    assert d2.last_seen is not None
    assert d2.last_seen[0, 1] - d2.last_seen[0, 0] == 86_400.0


@pytest.mark.parametrize("bad", [[1.0, float("nan")], ["x", "y"], [1.0]])
def test_bad_timestamps_are_refused(bad: list[object]) -> None:
    with pytest.raises(InvalidInput) as e:
        Interactions.from_arrays(["a", "a"], ["x", "y"], timestamps=bad)
    assert e.value.field == "timestamp"


def test_validation_by_time_holds_out_each_persons_latest() -> None:
    d = Interactions.from_arrays(["a"] * 4 + ["b"] * 2, ["w", "x", "y", "z", "x", "y"],
                                 timestamps=[4, 1, 3, 2, 1, 2])
    train, held = carve_validation(d, 0.5, 0, latest=True)
    a, b = d.user_index["a"], d.user_index["b"]
    assert sorted(d.item_ids[held[a].indices]) == ["w", "y"]  # a's two newest
    assert d.item_ids[held[b].indices].tolist() == ["y"]
    assert train.last_seen is not None and train.matrix.nnz == 3
    # exactly n per person; people with no more than n stay whole
    train, held = carve_validation(d, 0.5, 0, latest=True, per_person=3)
    assert held[a].nnz == 3 and held[b].nnz == 0


def test_validation_by_time_needs_timestamps() -> None:
    d = Interactions.from_arrays(["a", "a"], ["x", "y"])
    with pytest.raises(InvalidInput, match="timestamps"):
        carve_validation(d, 0.5, 0, latest=True)


def test_ease_with_recency_follows_the_newest_item() -> None:
    d = _two_tastes()
    plain = EASE(l2=1.0).fit(d).recommend("p", k=2)
    recent = EASE(l2=1.0, recency_half_life=1.0).fit(d).recommend("p", k=2)
    assert recent[0].item_id == "y2"
    assert "y" in recent[0].reason
    # Without recency both items count alike: x2 and y2 score the same.
    assert plain[0].score == pytest.approx(plain[1].score)


def test_a_fresh_event_is_the_newest() -> None:
    d = _two_tastes()
    model = EASE(l2=1.0, recency_half_life=1.0).fit(d)
    model.update("p", ["x"])  # "p" meets x again, now
    assert model.recommend("p", k=1)[0].item_id == "x2"
    model.update("new", ["y"])
    model.update("new", ["x"])
    assert model.recommend("new", k=1)[0].item_id == "x2"


def test_recency_survives_save_and_load(tmp_path: Path) -> None:
    model = EASE(l2=1.0, recency_half_life=1.0).fit(_two_tastes())
    model.save(tmp_path / "m.npz")
    loaded = Recommender.load(tmp_path / "m.npz")
    assert loaded.interactions_.last_seen is not None
    assert loaded.recommend("p", k=2) == model.recommend("p", k=2)


def test_bad_recency_half_life_is_refused() -> None:
    with pytest.raises(InvalidInput) as e:
        EASE(recency_half_life=0).fit(_two_tastes())
    assert e.value.field == "recency_half_life"


def test_hybrid_takes_each_models_params() -> None:
    model = Hybrid(models=("ease", "popular"), params={"ease": {"l2": 3.0}},
                   weights=(1.0, 0.0)).fit(_two_tastes())
    assert model.models_[0].get_params()["l2"] == 3.0
    with pytest.raises(InvalidInput) as e:
        Hybrid(models=("ease",), params={"als": {}}).fit(_two_tastes())
    assert e.value.field == "params"
    with pytest.raises(InvalidInput) as e:
        Hybrid(models=("ease", "popular"), validation="sometimes").fit(_two_tastes())
    assert e.value.field == "validation"


def _near_twins() -> Interactions:
    """x1 and x2 share one audience; y has another. Everyone who has "seed" has all three
    of x1, x2 (so they score highest) and some y."""
    users, items = [], []
    for n in range(10):
        users += [f"a{n}"] * 3
        items += ["seed", "x1", "x2"]
    for n in range(4):
        users += [f"b{n}"] * 2
        items += ["seed", "y"]
    users += ["p"]
    items += ["seed"]
    return Interactions.from_arrays(users, items)


def test_mmr_puts_an_unlike_item_before_a_near_twin() -> None:
    from tailored.recommend import Filters, ItemKNN

    model = ItemKNN().fit(_near_twins())
    plain = [r.item_id for r in model.recommend("p", k=3)]
    assert plain[:2] in (["x1", "x2"], ["x2", "x1"])
    diverse = [r.item_id for r in model.recommend("p", k=3, filters=Filters(diversity=0.7))]
    assert diverse[1] == "y" and set(diverse) == set(plain)
    assert [r.item_id for r in model.recommend("p", k=3, filters=Filters(diversity=0.0))] \
        == plain


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_bad_diversity_is_refused(bad: float) -> None:
    from tailored.recommend import Filters, ItemKNN

    model = ItemKNN().fit(_near_twins())
    with pytest.raises(InvalidInput) as e:
        model.recommend("p", k=3, filters=Filters(diversity=bad))
    assert e.value.field == "diversity"


def test_social_fades_what_friends_did_long_ago() -> None:
    from tailored.recommend import SideData, Social

    day = 86_400.0
    data = Interactions.from_arrays(
        ["old", "new", "p"], ["vinyl", "stream", "seed"], timestamps=[0.0, 300 * day, 300 * day])
    side = SideData(ties=(("p", "old", "friend", 1.0), ("p", "new", "friend", 1.0)))
    flat = Social().with_side(side).fit(data).recommend("p", k=2)
    assert flat[0].score == pytest.approx(flat[1].score)
    faded = Social(half_life_days=30).with_side(side).fit(data).recommend("p", k=2)
    assert faded[0].item_id == "stream" and faded[0].score > 100 * faded[1].score
    with pytest.raises(InvalidInput) as e:
        Social(half_life_days=-1).with_side(side).fit(data)
    assert e.value.field == "half_life_days"
