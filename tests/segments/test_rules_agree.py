"""The two evaluations of a rule agree: the compiled query over everyone (DuckDB and
PostgreSQL) and the in-process evaluation of one person, metrics computed in Python — on random
rules over random small histories."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailored.analytics import opened
from tailored.analytics.features import resolve_as_of
from tailored.segments import PersonEvent, PersonView, evaluate, evaluation_query, parse_rule
from tailored.segments.person_data import person_metrics
from tailored.store.snapshot_schema import SCHEMAS, event_order_value, interaction_rows

START = datetime(2026, 1, 1, 0, 7, tzinfo=UTC)  # events on whole hours + 7 minutes
EVENTS = ("Order Completed", "Product Viewed", "Signed Up")
PLATFORMS = ("web", "ios", "android")
WORDS = ("a", "b", "ios", "10", "2.5", "true")

scalars = st.one_of(st.integers(-5, 12), st.sampled_from(WORDS), st.booleans(),
                    st.just(2.5))
trait_values = st.one_of(scalars, st.lists(st.sampled_from(WORDS), max_size=3), st.none())
traits = st.dictionaries(st.sampled_from(("plan", "age", "tags", "vip")), trait_values,
                         max_size=3)


@st.composite
def events(draw: Any) -> dict[str, Any]:
    name = draw(st.sampled_from((*EVENTS, None)))
    props: dict[str, Any] = {}
    category = draw(st.sampled_from((None, "shoes", "hats", 3)))
    if category is not None:
        props["category"] = category
    revenue = draw(st.one_of(st.none(), st.integers(0, 100), st.sampled_from(("12", "x"))))
    if revenue is not None:
        props["revenue"] = revenue
    if name == "Order Completed" and draw(st.booleans()):
        props["products"] = [{"product_id": draw(st.sampled_from(("s1", "s2"))),
                              "quantity": draw(st.integers(1, 3)),
                              "price": draw(st.integers(1, 40))}]
    elif name == "Product Viewed":
        props["product_id"] = draw(st.sampled_from(("s1", "s2", "s3")))
    return {"event": name, "hours": draw(st.integers(0, 24 * 60)),
            "platform": draw(st.sampled_from(PLATFORMS)), "properties": props}


people = st.lists(st.tuples(traits, st.lists(events(), max_size=6)), min_size=1, max_size=6)

# Thresholds of day metrics are k + 0.3: never a whole number of hours (or hours + 30
# minutes), so no comparison sits exactly on a floating-point boundary.
day_metric = st.builds(lambda m, k, op: {"metric": m, op: k + 0.3},
                       st.sampled_from(("recency_days", "tenure_days", "order_recency_days")),
                       st.integers(0, 60), st.sampled_from((">", ">=", "<", "<=")))
count_metric = st.builds(lambda m, k, op: {"metric": m, op: k},
                         st.sampled_from(("orders", "purchase_days", "revenue", "events",
                                          "views", "carts", "distinct_items", "active_days",
                                          "avg_order_value")),
                         st.integers(0, 8), st.sampled_from((">", ">=", "<", "<=", "=", "!=")))
window = st.one_of(st.none(), st.integers(1, 60), st.just(0.5))


def _with_window(doc: dict[str, Any], days: float | None,
                 category: str | int | None = None) -> dict[str, Any]:
    if category is not None:
        doc = {**doc, "where": {"category": category}}
    return doc if days is None else {**doc, "within_days": days}


categories = st.sampled_from((None, None, "shoes", 3))


event_rule = st.one_of(
    st.builds(lambda e, k, op, w, c: _with_window({"event": e, "count": {op: k}}, w, c),
              st.sampled_from(EVENTS), st.integers(0, 3), st.sampled_from((">=", "<", "=")),
              window, categories),
    st.builds(lambda k, op, w: _with_window(
        {"event": "Order Completed", "sum": {"property": "revenue", op: k}}, w),
        st.integers(0, 150), st.sampled_from((">", "<=")), window),
    st.builds(lambda e, w: _with_window({"event": e}, w), st.sampled_from(EVENTS), window))
trait_rule = st.one_of(
    st.builds(lambda t, op, v: {"trait": t, op: v}, st.sampled_from(("plan", "age", "tags")),
              st.sampled_from(("=", "!=", ">", "<=")), st.one_of(st.integers(-5, 12),
                                                                 st.sampled_from(WORDS))),
    st.builds(lambda t, v: {"trait": t, "=": v}, st.sampled_from(("vip", "plan")),
              st.booleans()),
    st.builds(lambda t, op, vs: {"trait": t, op: vs}, st.sampled_from(("plan", "age")),
              st.sampled_from(("in", "not_in")), st.one_of(
                  st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
                  st.lists(st.integers(-5, 12), min_size=1, max_size=3))),
    st.builds(lambda t, v: {"trait": t, "includes": v}, st.sampled_from(("tags", "plan")),
              st.sampled_from(WORDS)),
    st.builds(lambda t, v: {"trait": t, "exists": v}, st.sampled_from(("plan", "vip")),
              st.booleans()))
platform_rule = st.builds(lambda p, w: _with_window({"platform": p}, w),
                          st.one_of(st.sampled_from(PLATFORMS),
                                    st.lists(st.sampled_from(PLATFORMS), min_size=1,
                                             max_size=2)), window)
# one_of flattens nested one_of into equally likely branches: metrics are listed again so
# they are drawn about as often as traits and events.
leaf = st.one_of(event_rule, trait_rule, platform_rule, *[day_metric, count_metric] * 3)
rules = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(lambda rs: {"all": rs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda rs: {"any": rs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda r: {"not": r}, inner)), max_leaves=6)
as_ofs = st.one_of(st.none(), st.integers(0, 24 * 61).map(
    lambda h: START + timedelta(hours=h, minutes=30)))


def _ts(hours: int) -> datetime:
    return START + timedelta(hours=hours)


def write_snapshot(folder: Path, population: list[tuple[dict[str, Any], list[dict[str, Any]]]]
                   ) -> dict[str, PersonView]:
    """The population as a snapshot (as `tailored export` writes one); returns each person's
    events and traits for the in-process path (metrics are filled in later)."""
    ev_rows, ix_rows, profile_rows = [], [], []
    views: dict[str, PersonView] = {}
    for i, (person_traits, history) in enumerate(population):
        pid = f"p{i}"
        person_events = []
        for n, e in enumerate(history):
            mid = f"{pid}-{n}"
            when = _ts(e["hours"])
            kind = "track" if e["event"] else "page"
            lines = list(interaction_rows(SimpleNamespace(
                properties=e["properties"], event=e["event"], profile_id=pid,
                timestamp=when, platform=e["platform"], message_id=mid))) if e["event"] else []
            ix_rows.extend(lines)
            worth = event_order_value(SimpleNamespace(
                type=kind, event=e["event"], properties=e["properties"]), lines)
            ev_rows.append({"message_id": mid, "type": kind,
                            "event": e["event"], "name": None if e["event"] else "Home",
                            "profile_id": pid, "user_id": None, "anonymous_id": None,
                            "device_id": None, "platform": e["platform"], "timestamp": when,
                            "received_at": when, "context": "{}",
                            "properties": orjson.dumps(e["properties"]).decode(),
                            "traits": "{}", "order_value": worth})
            person_events.append(PersonEvent(timestamp=when, event=e["event"],
                                              platform=e["platform"],
                                              properties=e["properties"], message_id=mid))
        profile_rows.append({"profile_id": pid, "user_id": None,
                             "traits": orjson.dumps(person_traits).decode(),
                             "first_seen": None, "last_seen": None, "created_at": START})
        views[pid] = PersonView(traits=person_traits, events=person_events)
    if not ev_rows:  # a snapshot needs a moment; one page view of a person with no traits
        ev_rows.append({"message_id": "x", "type": "page", "event": None, "name": "Home",
                        "profile_id": "nobody", "user_id": None, "anonymous_id": None,
                        "device_id": None, "platform": "web", "timestamp": START,
                        "received_at": START, "context": "{}", "properties": "{}",
                        "traits": "{}"})
    for name, rows in (("events", ev_rows), ("interactions", ix_rows),
                       ("profiles", profile_rows)):
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMAS[name]),
                       folder / f"{name}.parquet")
    (folder / "manifest.json").write_text(json.dumps({"version": 1}))
    return views


def check_agreement(backend: str, url: str | None, population: Any, docs: list[Any],
                    as_of: datetime | None) -> None:
    named = {f"r{i}": parse_rule(doc) for i, doc in enumerate(docs)}
    with tempfile.TemporaryDirectory() as tmp:
        views = write_snapshot(Path(tmp), population)
        with opened(Path(tmp), backend, url=url, schema="segments_agree") as source:
            when, inclusive = resolve_as_of(source, as_of)
            frame = evaluation_query(named, source, as_of=as_of).execute()
    batch = {(row["profile_id"], name): bool(row[name])
             for row in frame.to_dict("records") for name in named}
    for pid, view in views.items():
        person = PersonView(traits=view.traits, events=view.events, metrics=person_metrics(
            view.events, as_of=when, inclusive=inclusive))
        for name, rule in named.items():
            alone = evaluate(rule, person, as_of=when, inclusive=inclusive)
            assert batch[(pid, name)] == alone, (
                f"{backend}: {docs[int(name[1:])]} for {pid} {view.traits}: query says "
                f"{batch[(pid, name)]}, in process {alone} (metrics {person.metrics})")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population=people, docs=st.lists(rules, min_size=1, max_size=12), as_of=as_ofs)
def test_query_and_one_person_agree_on_duckdb(population: Any, docs: list[Any],
                                              as_of: datetime | None) -> None:
    check_agreement("duckdb", None, population, docs, as_of)


@pytest.mark.postgres
def test_query_and_one_person_agree_on_postgres(postgres_url: str) -> None:
    @settings(max_examples=15, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(population=people, docs=st.lists(rules, min_size=1, max_size=12), as_of=as_ofs)
    def agree(population: Any, docs: list[Any], as_of: datetime | None) -> None:
        check_agreement("postgres", postgres_url, population, docs, as_of)

    agree()


# Any key a JSON document can carry, except NUL (PostgreSQL's text cannot hold it; ingestion
# rejects it there) — with the characters that JSON paths give meaning to drawn often.
NASTY = ("\\", '"', "'", ".", "$", "*", "[", "]", "/", "~", "~0", "~1", " ", "\n", "é", "😀")
key_names = st.one_of(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            min_size=1, max_size=6),
    st.lists(st.sampled_from((*NASTY, "a", "b")), min_size=1, max_size=5).map("".join))


@st.composite
def keyed_population(draw: Any) -> tuple[list[Any], list[Any]]:
    """People whose traits and event properties use arbitrary key names, and rules on them."""
    keys = draw(st.lists(key_names, min_size=1, max_size=4, unique=True))
    value = st.one_of(st.sampled_from(WORDS), st.integers(0, 5),
                      st.lists(st.sampled_from(WORDS), max_size=2))
    population = []
    for _ in range(draw(st.integers(1, 4))):
        person_traits = draw(st.dictionaries(st.sampled_from(keys), value, max_size=3))
        history = [{"event": "Order Completed", "hours": draw(st.integers(0, 100)),
                    "platform": "web",
                    "properties": draw(st.dictionaries(st.sampled_from(keys), value,
                                                       max_size=3))}
                   for _ in range(draw(st.integers(0, 3)))]
        population.append((person_traits, history))
    key, word = st.sampled_from(keys), st.sampled_from(WORDS)
    docs = draw(st.lists(st.one_of(
        st.builds(lambda k, v: {"trait": k, "=": v}, key, st.one_of(word, st.integers(0, 5))),
        st.builds(lambda k, v: {"trait": k, "includes": v}, key, word),
        st.builds(lambda k, v: {"trait": k, "exists": v}, key, st.booleans()),
        st.builds(lambda k, v: {"trait": k, "in": [v]}, key, word),
        st.builds(lambda k, v: {"event": "Order Completed", "where": {k: v}}, key, word),
        st.builds(lambda k, n: {"event": "Order Completed", "sum": {"property": k, ">=": n}},
                  key, st.integers(0, 6))), min_size=1, max_size=8))
    return population, docs


NASTY_CASE = ([({"a\\b": "a", "\\": "b", 'q"': ["a"], "x\\\"y": 2, "~1/": "10"},
                [{"event": "Order Completed", "hours": 1, "platform": "web",
                  "properties": {"a\\b": "a", "\\": 3, "p.q": "b"}}])],
              [{"trait": "a\\b", "=": "a"}, {"trait": "\\", "exists": True},
               {"trait": 'q"', "includes": "a"}, {"trait": "x\\\"y", "=": 2},
               {"trait": "~1/", "=": "10"},
               {"event": "Order Completed", "where": {"a\\b": "a"}},
               {"event": "Order Completed", "sum": {"property": "\\", ">=": 3}},
               {"event": "Order Completed", "where": {"p.q": "b"}}])


def _every_rule_holds_for_someone(backend: str, url: str | None) -> None:
    population, docs = NASTY_CASE
    named = {f"r{i}": parse_rule(doc) for i, doc in enumerate(docs)}
    with tempfile.TemporaryDirectory() as tmp:
        write_snapshot(Path(tmp), population)
        with opened(Path(tmp), backend, url=url, schema="segments_keys") as source:
            frame = evaluation_query(named, source).execute()
    assert frame[list(named)].all(axis=None), frame.to_dict("records")


def test_keys_with_backslashes_and_quotes_match_on_duckdb() -> None:
    """Not just agreement (both could be empty): every one of these rules holds."""
    _every_rule_holds_for_someone("duckdb", None)
    check_agreement("duckdb", None, *NASTY_CASE, None)


@pytest.mark.postgres
def test_keys_with_backslashes_and_quotes_match_on_postgres(postgres_url: str) -> None:
    _every_rule_holds_for_someone("postgres", postgres_url)
    check_agreement("postgres", postgres_url, *NASTY_CASE, None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=keyed_population())
def test_any_key_name_agrees_on_duckdb(case: Any) -> None:
    check_agreement("duckdb", None, *case, None)


@pytest.mark.postgres
def test_any_key_name_agrees_on_postgres(postgres_url: str) -> None:
    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(case=keyed_population())
    def agree(case: Any) -> None:
        check_agreement("postgres", postgres_url, *case, None)

    agree()
