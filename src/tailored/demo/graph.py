"""The social graph of the demo shop: friendships and follows, with homophily.

Friends mostly share a taste segment (three in four ties), household members are close
friends, and follows go one way, mostly to the most active people of one's own segment.
Friend edges are emitted in both directions, as the Edge model is directed.
"""

from __future__ import annotations

import random
from typing import Any

from tailored.demo.people import Person

__all__ = ["make_edges"]


def make_edges(rng: random.Random, people: list[Person]) -> list[dict[str, Any]]:
    """Friend edges (both directions) and follow edges, with homophily by segment."""
    by_segment: dict[str, list[Person]] = {}
    for p in people:
        by_segment.setdefault(p.segment, []).append(p)
    friends: dict[tuple[str, str], int] = {}
    for p in people:
        if p.household:
            mate = next(q for q in people if q.household == p.household and q is not p)
            friends[tuple(sorted((p.uid, mate.uid)))] = 5  # type: ignore[index]
    for p in people:
        for _ in range(min(12, int(rng.expovariate(1 / 2.2)))):
            same = rng.random() < 0.75
            q = rng.choice(by_segment[p.segment] if same else people)
            if q is p:
                continue
            pair = (min(p.uid, q.uid), max(p.uid, q.uid))
            if pair not in friends:
                friends[pair] = rng.randint(2, 5) if q.segment == p.segment else rng.randint(1, 3)
    index = {p.uid: p for p in people}
    edges: list[dict[str, Any]] = []
    for (a, b), w in friends.items():
        index[a].friends.append(b)
        index[b].friends.append(a)
        edges.append({"src": a, "dst": b, "kind": "friend", "weight": w})
        edges.append({"src": b, "dst": a, "kind": "friend", "weight": w})
    # Following is one-way, mostly towards the most active people of one's own segment.
    ranked = sorted(people, key=lambda q: -q.rate)
    stars = {s: [q for q in ranked if q.segment == s][:5] for s in by_segment}
    follows: set[tuple[str, str]] = set()
    for p in people:
        if rng.random() >= 0.5:
            continue
        for _ in range(rng.randint(1, 3)):
            pool = stars[p.segment] if rng.random() < 0.8 else people
            q = rng.choice(pool)
            if q is not p and (p.uid, q.uid) not in follows:
                follows.add((p.uid, q.uid))
                edges.append({"src": p.uid, "dst": q.uid, "kind": "follow",
                              "weight": rng.randint(1, 3)})
    edges.sort(key=lambda e: (e["kind"], e["src"], e["dst"]))
    return edges
