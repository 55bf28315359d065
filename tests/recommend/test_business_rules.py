"""Diversification, boosts, pins and a person's favoured brands, categories and prices."""

from __future__ import annotations

from tailored.recommend import Filters, Interactions, ItemKNN, Popular
from tailored.recommend.catalog import CatalogView


def shop() -> tuple[Interactions, CatalogView]:
    users = [f"u{n}" for n in range(6) for _ in range(3)]
    items = [f"i{(n + j) % 6}" for n in range(6) for j in range(3)]
    data = Interactions.from_arrays(users, items, [1.0] * len(users))
    view = CatalogView.empty(len(data.item_ids))
    for n, item in enumerate(data.item_ids.tolist()):
        view.categories[n] = "Toys" if int(item[1]) % 2 else "Books"
        view.brands[n] = "Acme" if int(item[1]) < 3 else "Zed"
        view.prices[n] = 5.0 * (int(item[1]) + 1)
    return data, view


def test_category_cap_diversifies_the_list() -> None:
    data, view = shop()
    model = Popular().fit(data, view)
    recs = model.recommend("stranger", k=4, filters=Filters(max_per_category=1))
    cats = [view.categories[data.item_index[r.item_id]] for r in recs]
    assert cats.count("Toys") <= 1 and cats.count("Books") <= 1
    assert len(recs) == 2  # two categories, one each: the cap wins over length


def test_boost_lifts_an_item_and_pins_lead() -> None:
    data, view = shop()
    model = ItemKNN(neighbors=10).fit(data, view)
    plain = [r.item_id for r in model.recommend("u0", k=3)]
    last = plain[-1]
    boosted = [r.item_id for r in model.recommend(
        "u0", k=3, filters=Filters(boosts=((last, 100.0),)))]
    assert boosted[0] == last
    pinned = model.recommend("u0", k=3, filters=Filters(pinned=("i5",)))
    assert pinned[0].item_id == "i5" and pinned[0].reason == "featured"
    assert len({r.item_id for r in pinned}) == 3


def test_preferences_name_brands_categories_and_price_bands() -> None:
    data, view = shop()
    prefs = Popular().fit(data, view).preferences("u0")
    assert set(prefs) == {"brands", "categories", "price_bands"}
    assert prefs["brands"][0]["value"] == "Acme" and prefs["brands"][0]["share"] == 1.0
    assert {c["value"] for c in prefs["categories"]} == {"Toys", "Books"}
    assert prefs["price_bands"] and abs(sum(b["share"] for b in prefs["price_bands"]) - 1) < 1e-3
    assert Popular().fit(data, view).preferences("nobody") == {
        "brands": [], "categories": [], "price_bands": []}
