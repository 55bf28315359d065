"""The social recommender: friends' engagement, weighted by tie strength."""

from __future__ import annotations

from pathlib import Path

from tailored.recommend import Interactions, Recommender, Social
from tests.recommend.test_contract import USERS, RecommenderContract, catalog, data


def ties() -> list[tuple[str, str, str, float]]:
    # Each person is tied to the others of their taste (p* with p*, q* with q*).
    out = []
    for group in "pq":
        for a in range(6):
            for b in range(6):
                if a != b:
                    out.append((f"{group}{a}", f"{group}{b}", "friend", 1.0))
    return out


class TestSocial(RecommenderContract):
    def make(self) -> Recommender:
        return Social().with_ties(ties())

    def test_friends_engagement_comes_first_with_names_in_the_reason(self) -> None:
        d = data()
        recs = Social().with_ties(ties()).fit(d, catalog(d)).recommend("p0", k=1)
        assert recs[0].item_id.startswith("a")
        assert recs[0].reason.startswith("your friends p")

    def test_a_person_with_friends_but_no_history_gets_their_friends_items(self) -> None:
        d = Interactions.from_arrays(["ann", "bob", "bob", "cat"], ["x", "y", "z", "w"])
        model = Social().with_ties([("dan", "bob", "friend", 2.0), ("dan", "cat", "follow",
                                                                   1.0)]).fit(d)
        # dan has no history of his own; ties to people with history still count once he
        # is known to the model (here: he is not, so he gets the cold-start list).
        assert all("don't know" in r.reason for r in model.recommend("dan", k=2))
        d2 = Interactions.from_arrays(["ann", "bob", "bob", "cat", "dan"],
                                      ["x", "y", "z", "w", "x"])
        model = Social().with_ties([("dan", "bob", "friend", 2.0),
                                    ("dan", "cat", "follow", 1.0)]).fit(d2)
        recs = model.recommend("dan", k=3)
        assert [r.item_id for r in recs[:2]] == ["y", "z"] or [r.item_id for r in recs[:2]] \
            == ["z", "y"]
        assert recs[2].item_id == "w"  # a followed account counts half a friend

    def test_without_ties_everyone_gets_popular_items(self) -> None:
        recs = Social().fit(data()).recommend(USERS[0], k=3)
        assert all("popular" in r.reason for r in recs)


def test_a_forgotten_friend_is_never_named_again(tmp_path: Path) -> None:
    d = Interactions.from_arrays(["ann", "bob", "bob", "cat"], ["x", "y", "z", "z"])
    model = Social().with_ties([("ann", "bob", "friend", 1.0), ("ann", "cat", "friend", 1.0)],
                               names={"bob": "Bob Smith", "cat": "Cat"}).fit(d)
    assert any("Bob Smith" in r.reason for r in model.recommend("ann", k=2))
    model.forget(["bob"])
    recs = model.recommend("ann", k=2)
    assert recs[0].item_id == "z" and recs[0].reason == "your friend Cat engaged with it"
    assert not any("Bob" in r.reason for r in recs)
    model.save(tmp_path / "m.npz")
    assert "Bob Smith".encode("utf-32-le") not in (tmp_path / "m.npz").read_bytes()
