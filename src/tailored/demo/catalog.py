"""The demo shop's catalog, and the hidden taste segments that decide who wants what.

Each item has a hidden quality (drives ratings, reviews and refunds) and popularity (drives
how often it is shown and picked); both go into the ground truth so recommenders can be
scored against them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tailored.demo.vocab import (
    BOOK_ADJECTIVES,
    BRANDS,
    COLOURS,
    FEATURES_EN,
    FEATURES_ZH,
    NAMES,
    PRODUCT_ADJECTIVES,
    PUBLISHERS,
    SUBCATEGORIES,
)

__all__ = ["SEGMENTS", "ItemSpec", "Subcategory", "affinity", "make_items", "subcategories"]

SEGMENTS = ("tech-enthusiast", "home-cook", "outdoor", "fashion", "bookworm", "bargain-hunter")

# How much a segment likes a top-level category; anything unlisted is a faint 0.06, so
# everyone still browses a little outside their taste.
_TOP: dict[str, dict[str, float]] = {
    "tech-enthusiast": {"Electronics": 1.0},
    "home-cook": {"Home & Kitchen": 1.0},
    "outdoor": {"Sports & Outdoors": 1.0},
    "fashion": {"Fashion": 1.0},
    "bookworm": {"Books": 1.0},
    "bargain-hunter": {"Electronics": 0.35, "Home & Kitchen": 0.45, "Sports & Outdoors": 0.3,
                       "Fashion": 0.4, "Books": 0.4},
}
# Leaf categories that cross segment lines (a cook reads cookbooks), overriding the top level.
_LEAF: dict[str, dict[str, float]] = {
    "tech-enthusiast": {"Technology": 0.7, "Science Fiction": 0.35, "Accessories": 0.25},
    "home-cook": {"Cookbooks": 0.75, "Laptops": 0.03, "Smartphones": 0.03},
    "outdoor": {"Travel Guides": 0.65, "Smartwatches": 0.4, "Sneakers": 0.3},
    "fashion": {"Smartwatches": 0.25, "Mugs": 0.15},
    "bookworm": {"Mugs": 0.35, "Scarves": 0.2, "Laptops": 0.03},
    "bargain-hunter": {"Cases & Chargers": 0.9, "Mugs": 0.8, "Spices & Oils": 0.8,
                       "Novels": 0.7, "Scarves": 0.6, "Accessories": 0.6, "Laptops": 0.08},
}
_FALLBACK = 0.06


def affinity(segment: str, path: tuple[str, ...] | list[str]) -> float:
    """How much a person of ``segment`` is drawn to items under ``path`` (0..1)."""
    leaf = _LEAF[segment].get(path[-1])
    if leaf is not None:
        return leaf
    return _TOP[segment].get(path[0], _FALLBACK)


@dataclass(frozen=True, slots=True)
class Subcategory:
    path: tuple[str, ...]
    median_price: float
    nouns: tuple[str, ...]
    noun_zh: str
    materials: tuple[str, ...]
    queries: tuple[str, ...]

    @property
    def top(self) -> str:
        return self.path[0]

    @property
    def label(self) -> str:
        return " > ".join(self.path)


def subcategories() -> list[Subcategory]:
    """The leaf categories of the shop, in a fixed order."""
    return [Subcategory(*row) for row in SUBCATEGORIES]


@dataclass(slots=True)
class ItemSpec:
    """One catalog item: the public Item dict plus what only the ground truth knows."""

    item_id: str
    sub: int  # index into subcategories()
    kind: str  # the English noun, for review texts ("headphones", "book")
    quality: float  # 1..5, the mean rating a good match would give
    popularity: float
    sale: bool
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def price(self) -> float:
        return float(self.data["price"])

    @property
    def title(self) -> str:
        return str(self.data["title"])

    @property
    def available(self) -> bool:
        return bool(self.data["available"])


def _price(rng: random.Random, median: float, sigma: float) -> float:
    raw = median * math.exp(rng.gauss(0.0, sigma))
    # Shop prices end in .99; larger ones are rounded to tens first.
    if raw >= 100:
        return round(raw / 10) * 10 - 0.01
    return max(1.99, round(raw) - 0.01)


def _slug(text: str) -> str:
    return text.lower().replace(" & ", "-").replace("'", "").replace(" ", "-")


def make_items(rng: random.Random, count: int, start: datetime) -> list[ItemSpec]:
    """``count`` items spread over the leaf categories, ids sku-0001... in random order."""
    subs = subcategories()
    # Every leaf gets at least one item (when there is room); the rest land at random,
    # books and cheap accessories a little more often, as in a real assortment.
    weights = [1.6 if s.top == "Books" else 1.3 if s.median_price < 40 else 1.0 for s in subs]
    picks = list(range(len(subs)))[: count]
    picks += rng.choices(range(len(subs)), weights=weights, k=max(0, count - len(subs)))
    rng.shuffle(picks)
    brand_quality = {b: rng.gauss(0.0, 0.25) for bs in BRANDS.values() for b in bs}
    width = max(4, len(str(count)))
    zh_only = set(rng.sample(range(count), k=max(1, count // 50))) if count >= 20 else set()
    seen_titles: set[str] = set()
    items: list[ItemSpec] = []
    for n, si in enumerate(picks, start=1):
        sub = subs[si]
        item_id = f"sku-{n:0{width}d}"
        is_book = sub.top == "Books"
        noun = rng.choice(sub.nouns)
        attributes: dict[str, Any] = {}
        if is_book:
            brand = rng.choice(PUBLISHERS)
            suffix = {"Cookbooks": ": 100 Home Recipes", "Travel Guides": ": A Travel Guide",
                      "Technology": ": A Practical Guide"}.get(sub.path[-1], "")
            title = f"The {rng.choice(BOOK_ADJECTIVES)} {noun}{suffix}"
            lang = rng.choice(("de", "fr", "en", "it", "es"))
            female, male, family = NAMES[lang]
            author = f"{rng.choice(female + male)} {rng.choice(family)}"
            attributes.update(author=author, pages=rng.randint(96, 640),
                              format=rng.choice(("paperback", "hardcover", "ebook")))
            kind = "book"
            quality_offset = 0.0
            text = (f"{title} by {author}. {' '.join(rng.sample(FEATURES_EN['Books'], 2))} "
                    f"A {sub.queries[0]} from {brand}.")
        else:
            brand = rng.choice(BRANDS[sub.top])
            title = f"{brand} {rng.choice(PRODUCT_ADJECTIVES[sub.top])} {noun}"
            colour, material = rng.choice(COLOURS), rng.choice(sub.materials)
            attributes.update(colour=colour, material=material)
            if sub.top == "Fashion":
                attributes["sizes"] = ["XS", "S", "M", "L", "XL"][rng.randint(0, 1):]
            kind = noun.split()[-1].lower()
            quality_offset = brand_quality[brand]
            text = (f"The {title} in {colour}, made of {material}. "
                    f"{' '.join(rng.sample(FEATURES_EN[sub.top], 2))} "
                    f"A great pick for anyone shopping for {sub.path[-1].lower()}.")
        if title in seen_titles:
            title = f"{title} ({rng.choice(COLOURS).title()})"
        if title in seen_titles:
            title = f"{title} {n}"
        seen_titles.add(title)
        description = text
        title_zh = f"{brand}{sub.noun_zh}" if not is_book else f"《{title}》中文版"
        if n - 1 in zh_only and not is_book:
            # A few items are listed in Chinese only, as an importer would send them.
            title, description = f"{brand} {sub.noun_zh}", f"{brand}{sub.noun_zh}。" + FEATURES_ZH[
                sub.top]
            attributes["language"] = "zh"
        elif rng.random() < 0.15:
            attributes["title_zh"] = title_zh
            attributes["description_zh"] = f"{title_zh}。{FEATURES_ZH[sub.top]}"
        sale = rng.random() < 0.12
        price = _price(rng, sub.median_price, 0.2 if is_book else 0.38)
        tags = [_slug(sub.top), _slug(sub.path[-1])]
        tags += rng.sample(("bestseller", "new", "gift-idea", "eco", "limited"), rng.randint(0, 2))
        if sale:
            tags.append("sale")
            attributes["list_price"] = round(price * rng.uniform(1.15, 1.5), 2)
        quality = min(4.9, max(1.8, rng.gauss(3.9, 0.5) + quality_offset))
        data = {
            "item_id": item_id,
            "title": title,
            "description": description,
            "category": list(sub.path),
            "brand": brand,
            "price": price,
            "currency": "EUR",
            "tags": tags,
            "attributes": attributes,
            "image_url": f"https://cdn.shop.example.com/images/{item_id}.jpg",
            "available": rng.random() > 0.04,
            "updated_at": start - timedelta(days=rng.randint(1, 400),
                                            seconds=rng.randint(0, 86399)),
        }
        popularity = math.exp(rng.gauss(0.0, 0.9))
        items.append(ItemSpec(item_id, si, kind, round(quality, 3), round(popularity, 4), sale,
                              data))
    return items
