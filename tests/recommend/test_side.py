"""Side data reaches the models that use it, on their own or inside a blend or auto."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tailored.evaluate import InteractionTable
from tailored.evaluate.runner import evaluate_model
from tailored.recommend import Auto, ContentBased, Hybrid, Interactions, SideData, Social

ITEMS = ({"item_id": "tea", "title": "green tea leaves"},
         {"item_id": "matcha", "title": "matcha green tea powder"},
         {"item_id": "drill", "title": "cordless power drill"})


def _data() -> Interactions:
    # matcha is new: nobody has engaged with it yet.
    return Interactions.from_arrays(["ann", "bob", "bob", "cy"], ["tea", "drill", "tea", "drill"],
                                    item_ids=["tea", "matcha", "drill"])


def test_content_reads_item_text_from_side_data() -> None:
    model = ContentBased().with_side(SideData(items=ITEMS)).fit(_data())
    assert "matcha" in model.feature_names_.tolist()
    top = model.recommend("ann", k=1)[0]
    assert top.item_id == "matcha"
    assert "green" in top.reason or "tea" in top.reason


def test_social_reads_ties_from_side_data() -> None:
    side = SideData(ties=(("ann", "cy", "friend", 1.0),), names={"cy": "Cy"})
    top = Social().with_side(side).fit(_data()).recommend("ann", k=1)[0]
    assert top.item_id == "drill" and "Cy" in top.reason


def test_a_blend_passes_side_data_to_its_models() -> None:
    side = SideData(items=ITEMS, ties=(("ann", "cy", "friend", 1.0),))
    model = Hybrid(models=("content", "social"), weights=(0.5, 0.5)).with_side(side)
    model.fit(_data())
    content, social = model.models_
    assert isinstance(content, ContentBased) and "matcha" in content.feature_names_.tolist()
    assert isinstance(social, Social) and social.ties_.nnz == 1


def test_auto_passes_side_data_to_its_candidates() -> None:
    model = Auto(candidates=("content",), n_trials=1, blend_top=0)
    model.with_side(SideData(items=ITEMS)).fit(_data())
    assert "matcha" in model.model_.feature_names_.tolist()


def test_evaluate_gives_side_data_to_the_model(tmp_path: Path) -> None:
    train = InteractionTable(np.array(["ann", "bob", "bob", "cy"]),
                             np.array(["tea", "drill", "tea", "drill"]))
    test = InteractionTable(np.array(["ann"]), np.array(["matcha"]))
    with_text = evaluate_model("content", train, test, 1, side=SideData(items=ITEMS))
    assert with_text["metrics"]["hit_rate@1"] == 1.0
