"""Reading a user's own tables: mapping, formats, delimiters, bad rows, and Last.fm."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tailored.catalog import Edge, Item
from tailored.ingest.sources.records import SourceError, SourceRecord, stable_message_id
from tailored.ingest.sources.tabular import parse_mapping, read_table
from tests.conftest import DATASETS


def write(path: Path, text: str, *, gz: bool = False) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def records(rs: list) -> list[SourceRecord]:
    return [r for r in rs if isinstance(r, SourceRecord)]


def errors(rs: list) -> list[SourceError]:
    return [r for r in rs if isinstance(r, SourceError)]


def test_parse_mapping() -> None:
    assert parse_mapping(["user_id=userID", " item_id = artistID ", "properties.a=b=c"]) == {
        "user_id": "userID",
        "item_id": "artistID",
        "properties.a": "b=c",
    }
    for bad in ("user_id", "=col", "user_id="):
        with pytest.raises(ValueError, match=f"--map '{bad}'"):
            parse_mapping([bad])
    with pytest.raises(ValueError, match="already mapped"):
        parse_mapping(["user_id=a", "user_id=b"])


EVENTS_CSV = (
    "uid,anon,what,sku,at,stars,qty,cost,page,plan,ip\n"
    "007,,Viewed,42,2024-05-01T10:00:00Z,4.5,2,9.99,/home,gold,1.2.3.4\n"
    ",a-1,Viewed,43,1714557600,,1.5,,,,\n"  # epoch seconds, anonymous
    "8,,,44,1714557600000,,,,,,\n"  # epoch ms; no event name: the --event default
    "9,,Viewed,45,yesterday,,,,,,\n"  # bad time
    ",,Viewed,46,2024-05-01 10:00:00,,,,,,\n"  # nobody
    "10,,Viewed,47,2024-05-01 10:00:00,five,,,,,\n"  # bad rating
)
EVENT_MAP = {
    "user_id": "uid",
    "anonymous_id": "anon",
    "event": "what",
    "item_id": "sku",
    "timestamp": "at",
    "rating": "stars",
    "quantity": "qty",
    "price": "cost",
    "properties.page": "page",
    "traits.plan": "plan",
    "context.ip": "ip",
}


def test_events_from_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "clicks.csv", EVENTS_CSV)
    out = list(
        read_table(
            path, fmt="csv", kind="events", mapping=EVENT_MAP, event_name="Seen", source_name="shop"
        )
    )
    good = records(out)
    first = good[0].data
    assert first == {
        "type": "track",
        "event": "Viewed",
        "userId": "007",  # ids stay text, zeros kept
        "messageId": stable_message_id("shop", "clicks.csv", 2),
        "timestamp": datetime(2024, 5, 1, 10, tzinfo=UTC),
        "properties": {
            "product_id": "42",
            "rating": 4.5,
            "quantity": 2,
            "price": 9.99,
            "page": "/home",
        },
        "context": {
            "library": {"name": "tailored-import", "version": "1"},
            "source": "shop",
            "ip": "1.2.3.4",
            "traits": {"plan": "gold"},
        },
    }
    second = good[1].data
    assert second["anonymousId"] == "a-1" and "userId" not in second
    assert second["timestamp"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert second["properties"] == {"product_id": "43", "quantity": 1.5}  # empty cells omitted
    third = good[2].data
    assert third["event"] == "Seen" and third["timestamp"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert len(good) == 3
    assert [(e.line, e.field) for e in errors(out)] == [(5, "at"), (6, "uid"), (7, "stars")]


def test_tab_crlf_no_final_newline_and_quotes(tmp_path: Path) -> None:
    path = write(
        tmp_path / "artists.dat",
        'id\tname\turl\r\n1\t"Weird Al" Yankovic\thttp://x/1\r\n2\tB\thttp://x/2',
    )
    out = list(
        read_table(
            path,
            fmt="csv",
            kind="items",
            mapping={"item_id": "id", "title": "name", "attributes.url": "url"},
        )
    )
    assert [r.data for r in out] == [
        {"item_id": "1", "title": '"Weird Al" Yankovic', "attributes": {"url": "http://x/1"}},
        {"item_id": "2", "title": "B", "attributes": {"url": "http://x/2"}},
    ]
    assert [r.line for r in out] == [2, 3]


def test_no_header_needs_columns_and_gzip(tmp_path: Path) -> None:
    path = write(tmp_path / "friends.dat.gz", "2\t275\r\n2\t428\r\n2", gz=True)
    with pytest.raises(ValueError, match="--columns"):
        list(
            read_table(
                path, fmt="csv", kind="edges", mapping={"src": "a", "dst": "b"}, header=False
            )
        )
    out = list(
        read_table(
            path,
            fmt="csv",
            kind="edges",
            mapping={"src": "a", "dst": "b"},
            header=False,
            columns=["a", "b"],
        )
    )
    assert [r.data for r in records(out)] == [
        {"src": "2", "dst": "275"},
        {"src": "2", "dst": "428"},
    ]
    assert [(e.line, e.field, e.reason) for e in errors(out)] == [
        (3, "friends.dat.gz", "expected 2 fields, found 1")
    ]
    for r in records(out):
        Edge.model_validate(r.data)


def test_delimiter_override(tmp_path: Path) -> None:
    path = write(tmp_path / "u.csv", "id;plan;age\nu1;gold;30\nu2;;41\n")
    out = list(
        read_table(
            path,
            fmt="csv",
            kind="users",
            delimiter=";",
            mapping={"user_id": "id", "traits.plan": "plan", "age": "age"},
        )
    )
    assert [r.data["traits"] for r in out] == [{"plan": "gold", "age": "30"}, {"age": "41"}]
    assert out[0].data["type"] == "identify" and out[0].data["userId"] == "u1"
    assert out[0].data["messageId"] == stable_message_id(
        "import", "user", "u1", "age=30", "plan=gold"
    )


def test_unknown_column_fails_before_any_row(tmp_path: Path) -> None:
    path = write(tmp_path / "plays.tsv", "userID\tartistID\tweight\n2\t51\t13883\n")
    reader = read_table(
        path,
        fmt="csv",
        kind="events",
        event_name="Artist Played",
        mapping={"user_id": "userID", "item_id": "artist"},
    )
    with pytest.raises(ValueError) as exc:
        next(reader)
    assert str(exc.value) == (
        f"--map item_id=artist: no column 'artist' in {path}; columns are: userID, artistID, weight"
    )


def test_unknown_target_and_missing_required(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", "a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"--map colour=\.\.\.: unknown target for items.*brand"):
        list(read_table(path, fmt="csv", kind="items", mapping={"item_id": "a", "colour": "b"}))
    with pytest.raises(ValueError, match="unknown target for users"):
        list(
            read_table(path, fmt="csv", kind="users", mapping={"user_id": "a", "properties.x": "b"})
        )
    with pytest.raises(ValueError, match="event name"):
        list(read_table(path, fmt="csv", kind="events", mapping={"user_id": "a"}))
    with pytest.raises(ValueError, match="edges need --map dst"):
        list(read_table(path, fmt="csv", kind="edges", mapping={"src": "a"}))
    with pytest.raises(FileNotFoundError, match="nope"):
        list(
            read_table(
                tmp_path / "nope.csv", fmt="csv", kind="edges", mapping={"src": "a", "dst": "b"}
            )
        )


def test_items_typed_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path / "items.csv",
        "sku,name,cat,price,tags,live,colour\n"
        'A1,Mug,Home > Kitchen,4.50,"red|blue",yes,red\n'
        "A2,Cup,,cheap,,no,\n"
        "A3,Pot,,,,maybe,\n"
        ",Nothing,,,,,\n",
    )
    mapping = {
        "item_id": "sku",
        "title": "name",
        "category": "cat",
        "price": "price",
        "tags": "tags",
        "available": "live",
        "attributes.colour": "colour",
    }
    out = list(read_table(path, fmt="csv", kind="items", mapping=mapping))
    good = records(out)
    assert good[0].data == {
        "item_id": "A1",
        "title": "Mug",
        "category": "Home > Kitchen",
        "price": 4.5,
        "tags": "red|blue",
        "available": True,
        "attributes": {"colour": "red"},
    }
    item = Item.model_validate(good[0].data)
    assert item.category == ["Home", "Kitchen"] and item.tags == ["red", "blue"]
    assert [(e.line, e.field) for e in errors(out)] == [(3, "price"), (4, "live"), (5, "sku")]


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "edges.parquet"
    table = pa.table(
        {
            "a": [1, 2, None],
            "b": ["x", "y", "z"],
            "w": [0.5, None, 2.0],
            "k": ["Follow", "friend", "friend"],
        }
    )
    pq.write_table(table, path)
    out = list(
        read_table(
            path,
            fmt="parquet",
            kind="edges",
            mapping={"src": "a", "dst": "b", "weight": "w", "kind": "k"},
        )
    )
    assert [r.data for r in records(out)] == [
        {"src": "1", "dst": "x", "kind": "follow", "weight": 0.5},
        {"src": "2", "dst": "y", "kind": "friend"},
    ]
    assert [(e.line, e.field) for e in errors(out)] == [(3, "a")]
    with pytest.raises(ValueError, match="no column 'c'"):
        list(read_table(path, fmt="parquet", kind="edges", mapping={"src": "a", "dst": "c"}))


def test_jsonl_gzip_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        orjson.dumps({"user": 12, "sku": "A", "ts": "2024-05-01T12:00:00+02:00", "n": 3}),
        b"",
        b"{not json",
        b"[1, 2]",
        orjson.dumps({"user": 13.0, "sku": "B", "ts": None, "extra": True}),
    ]
    path = write(tmp_path / "e.jsonl.gz", b"\n".join(lines).decode(), gz=True)
    out = list(
        read_table(
            path,
            fmt="jsonl",
            kind="events",
            event_name="Bought",
            mapping={"user_id": "user", "item_id": "sku", "timestamp": "ts", "properties.n": "n"},
        )
    )
    good = records(out)
    assert good[0].data["userId"] == "12" and good[0].data["properties"] == {
        "product_id": "A",
        "n": 3,
    }
    assert good[0].data["timestamp"] == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert good[1].data["userId"] == "13" and "timestamp" not in good[1].data
    assert [e.line for e in errors(out)] == [3, 4]
    assert "malformed JSON" in errors(out)[0].reason


# -- the real data set ----------------------------------------------------------------------


def _lastfm(name: str) -> Path:
    path = DATASETS / "hetrec2011-lastfm-2k" / name
    if not path.is_file():
        pytest.skip(f"data set not found: {path}")
    return path


@pytest.mark.dataset
def test_real_lastfm() -> None:
    artists = list(
        read_table(
            _lastfm("artists.dat.gz"),
            fmt="csv",
            kind="items",
            mapping={
                "item_id": "id",
                "title": "name",
                "image_url": "pictureURL",
                "attributes.url": "url",
            },
        )
    )
    assert len(records(artists)) == 17_632 and not errors(artists)
    weird = next(r.data for r in artists if r.data["item_id"] == "1686")
    assert weird["title"] == '"Weird Al" Yankovic'

    plays = list(
        read_table(
            _lastfm("user_artists.dat.gz"),
            fmt="csv",
            kind="events",
            event_name="Artist Played",
            mapping={"user_id": "userID", "item_id": "artistID", "value": "weight"},
        )
    )
    assert len(records(plays)) == 92_834 and not errors(plays)
    assert sum(r.data["properties"]["value"] for r in plays) == 69_183_975

    friends = list(
        read_table(
            _lastfm("user_friends.dat.gz"),
            fmt="csv",
            kind="edges",
            header=False,
            columns=["userID", "friendID"],
            mapping={"src": "userID", "dst": "friendID"},
        )
    )
    assert len(records(friends)) == 25_434 and not errors(friends)
    pairs = {(r.data["src"], r.data["dst"]) for r in friends}
    assert all((dst, src) in pairs for src, dst in pairs)
