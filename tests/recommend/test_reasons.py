"""Reasons a person believes: never a film they rated below their own mean, and no single
history item explaining most of a list when another will do."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tailored.recommend import MODELS, Interactions
from tailored.recommend.interactions import SIGNALS

RATING = SIGNALS.index("rating") + 1


def _ratings() -> Interactions:
    """Fans of "hated" (which most people love) like h1…h5; "p" rated "hated" 1★ and many
    other films 4–5★, so "hated" explains a lot by score but must never be the reason."""
    rng = np.random.default_rng(0)
    users, items, stars = [], [], []
    loved = [f"l{n}" for n in range(8)]
    for n in range(60):
        for item in ["hated", *[f"h{m}" for m in range(6)]]:
            users.append(f"a{n}"), items.append(item), stars.append(5.0)
        for item in rng.choice(loved, 3, replace=False):
            users.append(f"a{n}"), items.append(str(item)), stars.append(4.0)
        for item in loved[:4] + [f"m{m}" for m in range(6)]:
            users.append(f"b{n}"), items.append(item), stars.append(4.0)
    for item, s in [("hated", 1.0), *[(i, 5.0) for i in loved[:4]]]:
        users.append("p"), items.append(item), stars.append(s)
    return Interactions.from_arrays(users, items, stars, [RATING] * len(users))


@pytest.mark.parametrize("name", ["ease", "als", "item-knn", "cooccurrence", "hybrid"])
def test_a_film_rated_below_the_persons_mean_is_never_a_reason(name: str) -> None:
    data = _ratings()
    model = MODELS[name]().fit(data)
    recs = model.recommend("p", 10)
    assert recs
    cited = [r.because_item_id for r in recs if r.because_item_id is not None]
    assert "hated" not in cited and all("hated" not in r.reason for r in recs)
    assert cited, "the liked films still explain the list"
    assert max(Counter(cited).values()) <= 3


def test_one_history_item_explains_at_most_three_of_ten_when_another_will_do() -> None:
    data = _ratings()
    model = MODELS["ease"]().fit(data)
    for user in ("a0", "b0", "p"):
        cited = Counter(r.because_item_id for r in model.recommend(user, 10)
                        if r.because_item_id is not None)
        assert max(cited.values(), default=0) <= 3


def test_a_one_item_history_may_explain_the_whole_list() -> None:
    data = Interactions.from_arrays(["a", "a", "a", "b", "b", "c"], ["x", "y", "z", "x", "y",
                                                                      "x"])
    recs = MODELS["ease"]().fit(data).recommend("c", 2)
    assert [r.because_item_id for r in recs] == ["x", "x"]


def test_similar_items_answer_by_each_models_own_learning() -> None:
    from tests.conftest import dataset

    path = dataset("ml-100k", "u.data.gz")
    import gzip

    with gzip.open(path, "rt") as f:
        rows = np.loadtxt(f, dtype=np.int64)
    data = Interactions.from_arrays(rows[:, 0].astype(str), rows[:, 1].astype(str),
                                    rows[:, 2].astype(float))
    lists = {name: [r.item_id for r in MODELS[name]().fit(data).similar_items("50", 10)]
             for name in ("ease", "als", "item-knn", "popular")}
    assert all(len(v) == 10 and "50" not in v for v in lists.values())
    assert lists["ease"] != lists["als"] != lists["item-knn"] != lists["ease"]
