"""Auto: the contract, picking the better candidate, never seeing a test split, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tailored.errors import InvalidInput
from tailored.recommend import Interactions, Recommender
from tailored.recommend.auto import Auto
from tailored.recommend.registry import MODELS
from tests.recommend.test_contract import RecommenderContract, data
from tests.recommend.test_hybrid import _clustered


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MODELS, Auto.name, Auto)


class TestAuto(RecommenderContract):
    def make(self) -> Recommender:
        return Auto(candidates=("item-knn", "ease"), n_trials=2)


def test_picks_the_better_candidate() -> None:
    model = Auto(candidates=("popular", "item-knn"), n_trials=3).fit(_clustered())
    assert model.chosen_ == "item-knn"
    assert type(model.model_).name == "item-knn"
    assert model.model_.get_params() == {**model.model_.get_params(), **model.best_params_}
    assert {t["model"] for t in model.trials_} == {"popular", "item-knn", "hybrid"}
    best = max(t["ndcg"] for t in model.trials_ if t["ndcg"] is not None)
    assert model.validation_ndcg_ == pytest.approx(best, abs=1e-6)
    # It behaves as the chosen model, refit on everything it was given.
    assert model.model_.interactions_ is model.interactions_
    assert [r.item_id for r in model.recommend("a0", k=3)] == [
        r.item_id for r in model.model_.recommend("a0", k=3)]


def test_only_sees_what_fit_receives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every model tuned or refit learns from (a part of) the given interactions: no pair
    outside them — a test split's — can reach any fit."""
    given = _clustered()
    pairs = set(zip(*given.matrix.nonzero(), strict=True))
    seen: list[Interactions] = []
    original = Recommender.fit

    def spy(self: Recommender, d: Interactions, catalog: object = None) -> Recommender:
        seen.append(d)
        return original(self, d, catalog)  # type: ignore[arg-type]

    monkeypatch.setattr(Recommender, "fit", spy)
    Auto(candidates=("item-knn", "ease"), n_trials=2).fit(given)
    # auto itself, at least one fit per candidate (trials differing only in a scoring
    # parameter share a fit), the refit
    assert len(seen) >= 4
    for d in seen:
        assert np.array_equal(d.item_ids, given.item_ids)
        assert set(zip(*d.matrix.nonzero(), strict=True)) <= pairs
    full = [n for n, d in enumerate(seen) if d is given]
    assert full[0] == 0 and len(full) >= 2
    # The winner (one model, or each part of a blend) is refit on everything, last.
    assert full[1:] == list(range(full[1], len(seen)))
    assert all(d.matrix.nnz < given.matrix.nnz for d in seen[1:full[1]])  # held out


def test_same_seed_same_choice_and_trials() -> None:
    d = _clustered()
    runs = [Auto(candidates=("item-knn", "ease"), n_trials=4, random_state=3).fit(d)
            for _ in range(2)]
    assert runs[0].trials_ == runs[1].trials_
    assert runs[0].chosen_ == runs[1].chosen_ and runs[0].best_params_ == runs[1].best_params_
    assert runs[0].recommend("b1", k=5) == runs[1].recommend("b1", k=5)


def test_settings_the_data_cannot_take_are_skipped() -> None:
    # No purchases in this data: cooccurrence's "then" mode refuses it, "together" works.
    model = Auto(candidates=("cooccurrence",), n_trials=6).fit(_clustered())
    failed = [t for t in model.trials_ if t["ndcg"] is None]
    assert failed and all(t["params"]["mode"] == "then" and t["error"] for t in failed)
    assert model.chosen_ == "cooccurrence" and model.best_params_["mode"] == "together"


def test_first_trial_is_the_default() -> None:
    model = Auto(candidates=("ease",), n_trials=2).fit(data())
    assert model.trials_[0]["params"] == {"l2": 500.0, "recency_half_life": None}


def test_save_and_load_rebuild_the_chosen_model(tmp_path: Path) -> None:
    d = _clustered()
    model = Auto(candidates=("popular", "item-knn"), n_trials=2).fit(d)
    model.save(tmp_path / "a.npz")
    loaded = Recommender.load(tmp_path / "a.npz")
    assert isinstance(loaded, Auto)
    assert (loaded.chosen_, loaded.best_params_, loaded.trials_) == (
        model.chosen_, model.best_params_, model.trials_)
    assert loaded.recommend("a3", k=5) == model.recommend("a3", k=5)


@pytest.mark.parametrize("kwargs", [{"candidates": ()}, {"candidates": ("auto",)},
                                    {"n_trials": 0}])
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        Auto(**kwargs).fit(data())  # type: ignore[arg-type]
