"""New interests show: five fresh 5★ horror ratings move a person's list, with recency
chosen by validation on by default (ML-100K, its genres)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tailored.recommend import MODELS, Interactions
from tailored.recommend.interactions import SIGNALS
from tests.conftest import dataset

# u.item: id, title, release, video release, url, then 19 genre flags. The five fresh films
# are all horror, three of them thrillers too: their genres are horror and thriller.
HORROR, THRILLER = 5 + 11, 5 + 16


@pytest.fixture(scope="module")
def ml100k() -> tuple[Interactions, set[str], set[str]]:
    with gzip.open(dataset("ml-100k", "u.data.gz"), "rt") as f:
        rows = np.loadtxt(f, dtype=np.int64)
    code = SIGNALS.index("rating") + 1
    data = Interactions.from_arrays(rows[:, 0].astype(str), rows[:, 1].astype(str),
                                    rows[:, 2].astype(float), [code] * len(rows),
                                    timestamps=rows[:, 3])
    with gzip.open(dataset("ml-100k", "u.item.gz"), "rt", encoding="latin-1") as f:
        rows_ = [line.rstrip("\n").split("|") for line in f if line.strip()]
    horror = {r[0] for r in rows_ if r[HORROR] == "1"}
    thriller = {r[0] for r in rows_ if r[THRILLER] == "1"}
    return data, horror, thriller


@pytest.mark.parametrize("name", ["ease", "als"])
def test_five_fresh_horror_ratings_move_at_least_three_of_ten(
        ml100k: tuple[Interactions, set[str], set[str]], name: str) -> None:
    data, horror, thriller = ml100k
    counts = np.diff(data.matrix.indptr)
    person = str(data.user_ids[np.flatnonzero(counts == 39)[0]])
    seen = set(data.item_ids[data.matrix[data.user_index[person]].indices].tolist())
    popularity = np.diff(data.matrix.tocsc().indptr)
    fresh = [str(data.item_ids[i]) for i in np.argsort(-popularity)
             if str(data.item_ids[i]) in horror and str(data.item_ids[i]) not in seen][:5]
    model = MODELS[name]().fit(data)
    assert model.recency_half_life_ is not None  # type: ignore[attr-defined]
    before = [r.item_id for r in model.recommend(person, 10)]
    model.update(person, fresh, [5.0] * 5, ["rating"] * 5)
    after = [r.item_id for r in model.recommend(person, 10)]
    # At least 3 of the 10 are new and of the fresh films' genres (without recency: none).
    moved = [i for i in after if i not in before and (i in horror or i in thriller)]
    assert len(moved) >= 3, (before, after)
    assert any(i in horror for i in after)
