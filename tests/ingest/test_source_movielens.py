"""The MovieLens reader: the 100K, 1M and CSV layouts, gzip, bad rows, and the real data sets."""

from __future__ import annotations

import gzip
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tailored.catalog import Item
from tailored.ingest.sources.movielens import detect_layout, read_movielens
from tailored.ingest.sources.records import SourceError, SourceRecord
from tests.conftest import DATASETS

FLAGS_TOY = "|".join(["0", "0", "0", "1", "1", "1"] + ["0"] * 13)  # Animation, Children's, Comedy
FLAGS_NONE = "|".join(["1"] + ["0"] * 18)  # only "unknown"


def write(folder: Path, name: str, text: str, *, gz: bool = False, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    path = folder / name
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def split(records: list[SourceRecord | SourceError]) -> tuple[list, list, list, list]:
    items = [r for r in records if isinstance(r, SourceRecord) and r.kind == "item"]
    events = [r for r in records if isinstance(r, SourceRecord) and r.kind == "event"]
    identifies = [r for r in events if r.data["type"] == "identify"]
    errors = [r for r in records if isinstance(r, SourceError)]
    return items, identifies, [r for r in events if r.data["type"] == "track"], errors


def make_100k(folder: Path, *, gz: bool = False) -> Path:
    write(
        folder,
        "u.data" + (".gz" if gz else ""),
        "1\t1\t5\t874965758\n"
        "2\t1\t3\t876893171\n"
        "1\t2\t4\t876893000\n"
        "2\t2\tgood\t876893171\n"  # line 4: rating not a number
        "3\t1\t4\n"  # line 5: a field short
        "3\t2\t2\t8768",
        gz=gz,
    )  # line 6: truncated last line, no newline, still 4 fields
    write(
        folder,
        "u.item" + (".gz" if gz else ""),
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)"
        f"|{FLAGS_TOY}\n"
        f"2|Café au lait (1993)|01-Jan-1993|||{FLAGS_NONE}\n"
        "3|Broken|01-Jan-1993||\n",  # line 3: genre flags missing
        gz=gz,
        encoding="latin-1",
    )
    write(folder, "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n")
    write(folder, "u.genre", "".join(f"{g}|{i}\n" for i, g in enumerate(GENRES)) + "\n")
    return folder


GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def test_100k_items_users_ratings_in_order(tmp_path: Path) -> None:
    folder = make_100k(tmp_path / "ml-100k")
    assert detect_layout(folder) == "100k"
    records = list(read_movielens(folder))
    items, identifies, ratings, errors = split(records)

    first_event = next(
        i for i, r in enumerate(records) if isinstance(r, SourceRecord) and r.kind == "event"
    )
    assert all(r.kind == "item" for r in records[:first_event] if isinstance(r, SourceRecord))
    # Users follow the ratings: the one pass over the ratings dates each user's identify.
    first_identify = min(i for i, r in enumerate(records) if r in identifies)
    last_rating = max(i for i, r in enumerate(records) if r in ratings)
    assert last_rating < first_identify

    toy = items[0].data
    assert toy["item_id"] == "1" and toy["title"] == "Toy Story"
    assert toy["tags"] == ["Animation", "Children's", "Comedy"] and toy["category"] == []
    assert toy["attributes"]["year"] == 1995
    assert toy["attributes"]["imdb_url"].startswith("http://us.imdb.com/")
    assert "Toy Story" in toy["description"] and "Comedy" in toy["description"]
    cafe = items[1].data
    assert cafe["title"] == "Café au lait"  # latin-1 decoded
    assert cafe["tags"] == [] and cafe["attributes"]["genres"] == []  # "unknown" is no genre
    for item in items:
        Item.model_validate(item.data)

    assert [e.data["userId"] for e in identifies] == ["1", "2"]
    assert identifies[0].data["traits"] == {
        "age": 24,
        "gender": "M",
        "occupation": "technician",
        "zip": "85711",
    }
    # A user's identify is dated by their first rating.
    assert identifies[0].data["timestamp"] == datetime.fromtimestamp(874965758, UTC)

    rated = ratings[0].data
    assert rated["type"] == "track" and rated["event"] == "Product Rated"
    assert rated["userId"] == "1" and rated["properties"] == {"product_id": "1", "rating": 5.0}
    assert rated["timestamp"] == datetime(1997, 9, 22, 22, 2, 38, tzinfo=UTC)
    assert rated["messageId"] == "movielens:100k:r:0000000001:0000000001:0874965758"
    assert rated["context"] == {
        "library": {"name": "tailored-import", "version": "1"},
        "source": "movielens",
    }
    assert len(ratings) == 4  # lines 1, 2, 3 and the truncated line 6

    by_line = {(e.line, e.field) for e in errors}
    assert (3, "u.item") in by_line
    assert (4, "u.data: rating") in by_line
    assert (5, "u.data") in by_line
    assert len(errors) == 3
    assert "not a number" in next(e.reason for e in errors if e.line == 4)
    assert "found 3" in next(e.reason for e in errors if e.line == 5)


def test_100k_gzip_and_unpacked_read_the_same(tmp_path: Path) -> None:
    plain = list(read_movielens(make_100k(tmp_path / "plain")))
    packed = list(read_movielens(make_100k(tmp_path / "packed", gz=True)))
    assert plain == packed


def test_gzip_told_by_magic_bytes_not_name(tmp_path: Path) -> None:
    folder = make_100k(tmp_path / "ml")
    data = (folder / "u.data").read_bytes()
    (folder / "u.data").write_bytes(gzip.compress(data))  # gzipped, but no .gz in the name
    assert len(split(list(read_movielens(folder)))[2]) == 4


def test_id_prefix(tmp_path: Path) -> None:
    records = list(read_movielens(make_100k(tmp_path / "ml"), id_prefix="ml100k:"))
    items, identifies, ratings, _ = split(records)
    assert items[0].data["item_id"] == "ml100k:1"
    assert identifies[0].data["userId"] == "ml100k:1"
    assert ratings[0].data["userId"] == "ml100k:1"
    assert ratings[0].data["properties"]["product_id"] == "ml100k:1"


def test_1m_layout_codes_mapped(tmp_path: Path) -> None:
    folder = tmp_path / "ml-1m"
    write(
        folder,
        "ratings.dat",
        "1::1193::5::978300760\r\n2::1193::4::978298413\r\n2::3408::x::978298413\r\n",
    )
    write(
        folder,
        "movies.dat",
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "3408::Erin Brockovich (2000)::Drama|Comedy\n"
        "9::Amélie (2001)::Comedy|Romance\n",
        encoding="latin-1",
    )
    write(
        folder,
        "users.dat",
        "1::F::1::10::48067\n2::M::56::16::70072\n3::M::99::1::55117\n",
        gz=True,
    )
    assert detect_layout(folder) == "1m"
    items, identifies, ratings, errors = split(list(read_movielens(folder)))
    assert [i.data["item_id"] for i in items] == ["1193", "3408", "9"]
    assert items[1].data["tags"] == ["Drama", "Comedy"]
    assert items[2].data["title"] == "Amélie" and items[2].data["attributes"]["year"] == 2001
    assert identifies[0].data["traits"] == {
        "age_band": "Under 18",
        "gender": "F",
        "occupation": "K-12 student",
        "zip": "48067",
    }
    assert identifies[1].data["traits"]["age_band"] == "56+"
    assert identifies[1].data["traits"]["occupation"] == "self-employed"
    assert len(identifies) == 2
    assert (3, "users.dat: age") in {(e.line, e.field) for e in errors}
    assert (3, "ratings.dat: rating") in {(e.line, e.field) for e in errors}
    assert [r.data["properties"]["rating"] for r in ratings] == [5.0, 4.0]
    assert ratings[0].data["messageId"] == "movielens:1m:r:0000000001:0000001193:0978300760"


def make_csv_layout(folder: Path, *, gz: bool = False) -> Path:
    sfx = ".gz" if gz else ""
    write(
        folder,
        "ratings.csv" + sfx,
        "userId,movieId,rating,timestamp\n1,1,3.5,1112486027\n1,29,4.0,1112484676\n"
        "7,1,zero,1112484676\n7,29,2.5,soon\n",
        gz=gz,
    )
    write(
        folder,
        "movies.csv" + sfx,
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '29,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",Drama|Sci-Fi\n'
        "40697,Babylon 5,(no genres listed)\n"
        "170705,Band of Brothers (2001) ,Action|War\n"
        "149,Death Note: Desu nôto (2006\u20132007),Mystery\n",
        gz=gz,
    )
    write(
        folder,
        "tags.csv" + sfx,
        "userId,movieId,tag,timestamp\n15,1,pixar,1139045764\n20,1,Pixar,1139045765\n"
        '20,1,"fun, family",1139045766\n',
        gz=gz,
    )
    write(folder, "links.csv" + sfx, "movieId,imdbId,tmdbId\n1,0114709,862\n29,0112682,\n", gz=gz)
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_csv_layout_items_tags_ratings(tmp_path: Path, gz: bool) -> None:
    folder = make_csv_layout(tmp_path / "ml-20m", gz=gz)
    assert detect_layout(folder) == "csv"
    records = list(read_movielens(folder))
    items, identifies, tracks, errors = split(records)
    assert identifies == []  # no users file in the csv releases
    by_id = {i.data["item_id"]: i.data for i in items}
    assert by_id["1"]["description"] == "pixar, fun, family"  # distinct tags, first spelling
    assert by_id["1"]["attributes"] == {
        "year": 1995,
        "genres": ["Adventure", "Animation", "Children", "Comedy", "Fantasy"],
        "imdb_id": "0114709",
        "tmdb_id": "862",
    }
    assert by_id["29"]["title"] == "City of Lost Children, The (Cité des enfants perdus, La)"
    assert by_id["29"]["attributes"]["imdb_id"] == "0112682"
    assert "tmdb_id" not in by_id["29"]["attributes"]
    assert by_id["40697"]["title"] == "Babylon 5" and by_id["40697"]["tags"] == []
    assert by_id["40697"]["attributes"]["year"] is None
    assert by_id["170705"]["title"] == "Band of Brothers"
    assert by_id["149"]["title"] == "Death Note: Desu nôto"
    assert by_id["149"]["attributes"]["year"] == 2006
    for item in items:
        Item.model_validate(item.data)

    rated = [t for t in tracks if t.data["event"] == "Product Rated"]
    tagged = [t for t in tracks if t.data["event"] == "Product Tagged"]
    assert [r.data["properties"]["rating"] for r in rated] == [3.5, 4.0]
    assert rated[0].line == 2  # line numbers count the header line
    assert [t.data["properties"] for t in tagged] == [
        {"product_id": "1", "tag": "pixar"},
        {"product_id": "1", "tag": "Pixar"},
        {"product_id": "1", "tag": "fun, family"},
    ]
    assert all(t.data["timestamp"].tzinfo is UTC for t in tracks)
    assert max(records.index(r) for r in rated) < min(records.index(t) for t in tagged)
    assert {(e.line, e.field) for e in errors} == {
        (4, "ratings.csv: rating"),
        (5, "ratings.csv: timestamp"),
    }


def test_stable_message_ids_across_reads(tmp_path: Path) -> None:
    folder = make_csv_layout(tmp_path / "ml")
    first = [
        r.data["messageId"]
        for r in read_movielens(folder)
        if isinstance(r, SourceRecord) and r.kind == "event"
    ]
    again = [
        r.data["messageId"]
        for r in read_movielens(folder)
        if isinstance(r, SourceRecord) and r.kind == "event"
    ]
    assert first == again and len(set(first)) == len(first)


def test_missing_folder_and_unknown_layout(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        list(read_movielens(tmp_path / "nope"))
    (tmp_path / "other").mkdir()
    write(tmp_path / "other", "ratings.json", "{}")
    with pytest.raises(ValueError, match=r"not a MovieLens folder.*ratings\.json"):
        detect_layout(tmp_path / "other")
    with pytest.raises(ValueError, match="is a file"):
        detect_layout(tmp_path / "other" / "ratings.json")


def test_missing_movies_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "ml"
    write(folder, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,1\n")
    with pytest.raises(FileNotFoundError, match=r"movies\.csv"):
        list(read_movielens(folder))


# -- the real data sets ---------------------------------------------------------------------


def _real(name: str) -> Path:
    path = DATASETS / name
    if not path.is_dir():
        pytest.skip(f"data set not found: {path}")
    return path


def _count(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for r in read_movielens(path):
        if isinstance(r, SourceError):
            counts["error"] += 1
        elif r.kind == "item":
            counts["item"] += 1
        else:
            counts[r.data.get("event") or r.data["type"]] += 1
    return counts


@pytest.mark.dataset
def test_real_ml_100k() -> None:
    counts = _count(_real("ml-100k"))
    assert counts == {"item": 1682, "identify": 943, "Product Rated": 100_000}


@pytest.mark.dataset
def test_real_ml_latest_small() -> None:
    counts = _count(_real("ml-latest-small"))
    assert counts == {"item": 9742, "Product Rated": 100_836, "Product Tagged": 3683}
