"""Read the GroupLens MovieLens data sets as items, user traits and rating events.

Three folder layouts are recognised from the files present (each may also be gzipped, with
``.gz`` appended to its name):

- ``"100k"``: ``u.data``, ``u.item``, ``u.user`` (and ``u.genre``), as in ml-100k.
- ``"1m"``: ``ratings.dat``, ``movies.dat``, ``users.dat`` separated by ``::``, as in ml-1m
  (``users.dat`` is optional, so ml-10m's ratings and movies read too).
- ``"csv"``: ``ratings.csv``, ``movies.csv`` and optional ``tags.csv`` / ``links.csv``, as in
  ml-latest-small, ml-20m, ml-25m and ml-latest.

Output order: one item per movie, then one identify event per user with demographics, then the
ratings as "Product Rated" events, then (csv layout) the tags as "Product Tagged" events.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tailored.ingest.sources.files import open_binary
from tailored.ingest.sources.records import (
    SourceError,
    SourceRecord,
    ordered_message_id,
    stable_message_id,
)

__all__ = ["detect_layout", "read_movielens"]

SOURCE = "movielens"


def _context() -> dict[str, Any]:
    # A fresh dict per event: the pipeline may enrich one event's context without touching all.
    return {"library": {"name": "tailored-import", "version": "1"}, "source": SOURCE}


# fmt: off
# ml-100k's genre columns, in order, for folders that lack u.genre.
GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
)
# The ml-1m README's codes for users.dat's Age and Occupation.
AGE_BANDS_1M = {
    "1": "Under 18", "18": "18-24", "25": "25-34", "35": "35-44", "45": "45-49",
    "50": "50-55", "56": "56+",
}
OCCUPATIONS_1M = (
    "other or not specified", "academic/educator", "artist", "clerical/admin",
    "college/grad student", "customer service", "doctor/health care", "executive/managerial",
    "farmer", "homemaker", "K-12 student", "lawyer", "programmer", "retired", "sales/marketing",
    "scientist", "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed",
    "writer",
)
# fmt: on
# Placeholders meaning "no genre": kept out of tags so they never look like a shared taste.
_NO_GENRE = {"unknown", "(no genres listed)"}

_LAYOUTS = {"100k": "u.data", "1m": "ratings.dat", "csv": "ratings.csv"}
_SEPARATORS = {"100k": "\t", "1m": "::", "csv": "csv"}
# "Toy Story (1995)", "Death Note (2006-2007)" (an en dash in the data), with stray trailing
# spaces in ml-latest.
_YEAR = re.compile(r"\s*\((\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$")
# Enough tag text to describe a film; bounds memory on ml-25m's million tags.
_MAX_TAGS_PER_MOVIE = 50

Row = tuple[int, list[str]]


def detect_layout(path: str | Path) -> str:
    """Which MovieLens layout the folder holds: ``"100k"``, ``"1m"`` or ``"csv"``."""
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"MovieLens folder not found: {folder}")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file; give the MovieLens folder that holds it")
    for layout, ratings in _LAYOUTS.items():
        if _find(folder, ratings):
            return layout
    found = ", ".join(sorted(p.name for p in folder.iterdir())[:20]) or "nothing"
    raise ValueError(
        f"{folder} is not a MovieLens folder: expected u.data (100k), ratings.dat (1m) or "
        f"ratings.csv (latest, 20m, 25m), each possibly .gz; found {found}"
    )


def read_movielens(
    path: str | Path, *, id_prefix: str = ""
) -> Iterator[SourceRecord | SourceError]:
    """Items, identify events and rating (and tag) events from a MovieLens folder."""
    folder = Path(path)
    layout = detect_layout(folder)
    if layout == "100k":
        genres = _genres_100k(folder)
        yield from _items(_need(folder, "u.item"), "|", id_prefix, genres)
        users, user_cols = _find(folder, "u.user"), "|"
    elif layout == "1m":
        yield from _items(_need(folder, "movies.dat"), "::", id_prefix, None)
        users, user_cols = _find(folder, "users.dat"), "::"
    else:
        tags = _find(folder, "tags.csv")
        described = _tag_text(tags) if tags else {}
        yield from _csv_items(
            _need(folder, "movies.csv"), _find(folder, "links.csv"), described, id_prefix
        )
        users, user_cols = None, ""
    ratings = _need(folder, _LAYOUTS[layout])
    # Users carry no date of their own; their first rating is when the data set first saw
    # them. It is noted on the one pass over the ratings, and the users follow them.
    first: dict[str, int] = {}
    for line, f in _rows(ratings, _SEPARATORS[layout]):
        rec = _rating(line, f, layout, _LAYOUTS[layout], id_prefix)
        if isinstance(rec, SourceRecord):
            user, ts = f[0].strip(), int(f[3])
            if ts < first.get(user, ts + 1):
                first[user] = ts
        yield rec
    if layout == "csv" and tags:
        for line, f in _rows(tags, "csv"):
            yield _tagged(line, f, id_prefix)
    if users:
        yield from _identifies(users, user_cols, layout, id_prefix, first)


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _need(folder: Path, name: str) -> Path:
    found = _find(folder, name)
    if found is None:
        raise FileNotFoundError(f"{folder / name} (or {name}.gz) not found")
    return found


def _open_text(path: Path, encoding: str) -> IO[str]:
    return io.TextIOWrapper(open_binary(path), encoding=encoding, newline="")


def _logical(path: Path) -> str:
    return path.name.removesuffix(".gz")


def _rows(path: Path, sep: str, encoding: str = "latin-1") -> Iterator[Row]:
    """(line number, fields) per non-blank line; ``sep="csv"`` reads CSV after its header."""
    if sep == "csv":
        with _open_text(path, "utf-8-sig") as f:
            reader = csv.reader(f)
            next(reader, None)
            for fields in reader:
                if fields:
                    # line_num is the physical line, right even when a quoted field spans lines.
                    yield reader.line_num, fields
        return
    with _open_text(path, encoding) as f:
        for line, text in enumerate(f, 1):
            text = text.rstrip("\r\n")
            if text.strip():
                yield line, text.split(sep)


def _genres_100k(folder: Path) -> tuple[str, ...]:
    found = _find(folder, "u.genre")
    if found is None:
        return GENRES_100K
    names = [f[0] for _, f in _rows(found, "|") if len(f) == 2]
    return tuple(names) or GENRES_100K


def _title_year(raw: str) -> tuple[str, int | None]:
    match = _YEAR.search(raw)
    if not match:
        return raw.strip(), None
    return raw[: match.start()].strip(), int(match.group(1))


def _item(
    line: int,
    movie_id: str,
    raw_title: str,
    genres: list[str],
    attrs: dict[str, Any],
    description: str | None,
) -> SourceRecord:
    title, year = _title_year(raw_title)
    genres = [g for g in genres if g and g not in _NO_GENRE]
    if description is None:
        # Content-based models need some text; the title and genres are what there is.
        description = f"{title}. {', '.join(genres)}." if genres else title
    if year is None and attrs.get("release_date"):
        year = int(attrs["release_date"][:4])
    data = {
        "item_id": movie_id,
        "title": title or None,
        "description": description or None,
        "category": [],
        "tags": genres,
        "attributes": {"year": year, "genres": genres, **attrs},
    }
    return SourceRecord("item", data, line)


def _release_date(text: str) -> str | None:
    # Optional metadata: a missing or odd date (the "unknown" film has none) just drops out.
    try:
        return datetime.strptime(text.strip(), "%d-%b-%Y").date().isoformat()
    except ValueError:
        return None


def _items(
    path: Path, sep: str, prefix: str, genres: tuple[str, ...] | None
) -> Iterator[SourceRecord | SourceError]:
    """Movies of the 100k (``genres`` = flag names) or 1m (``genres`` None) layout."""
    name = _logical(path)
    want = 5 + len(genres) if genres else 3
    for line, f in _rows(path, sep):
        if len(f) != want:
            yield SourceError(line, name, f"expected {want} fields, found {len(f)}")
        elif not f[0].strip():
            yield SourceError(line, f"{name}: movie id", "empty")
        elif genres is None:
            yield _item(line, prefix + f[0].strip(), f[1], f[2].split("|"), {}, None)
        else:
            flags = [g for g, flag in zip(genres, f[5:], strict=True) if flag.strip() == "1"]
            attrs = {"release_date": _release_date(f[2]), "imdb_url": f[4].strip()}
            attrs = {k: v for k, v in attrs.items() if v}
            yield _item(line, prefix + f[0].strip(), f[1], flags, attrs, None)


def _tag_text(path: Path) -> dict[str, str]:
    """Each movie's distinct user tags, joined: the only free text a csv release has."""
    seen: dict[str, dict[str, str]] = {}
    for _, f in _rows(path, "csv"):
        if len(f) == 4 and f[2].strip():
            tags = seen.setdefault(f[1].strip(), {})
            if len(tags) < _MAX_TAGS_PER_MOVIE:
                tags.setdefault(f[2].strip().lower(), f[2].strip())
    return {movie: ", ".join(tags.values()) for movie, tags in seen.items()}


def _csv_items(
    path: Path, links: Path | None, described: dict[str, str], prefix: str
) -> Iterator[SourceRecord | SourceError]:
    ids: dict[str, dict[str, str]] = {}
    for _, f in _rows(links, "csv") if links else ():
        if len(f) == 3:
            ids[f[0].strip()] = {
                k: v.strip() for k, v in (("imdb_id", f[1]), ("tmdb_id", f[2])) if v.strip()
            }
    for line, f in _rows(path, "csv"):
        if len(f) != 3:
            yield SourceError(line, "movies.csv", f"expected 3 fields, found {len(f)}")
        elif not f[0].strip():
            yield SourceError(line, "movies.csv: movieId", "empty")
        else:
            movie = f[0].strip()
            attrs = ids.get(movie, {})
            genres = f[2].split("|")
            yield _item(line, prefix + movie, f[1], genres, attrs, described.get(movie))


def _epoch(text: str) -> datetime:
    return datetime.fromtimestamp(int(text.strip()), tz=UTC)


def _identifies(
    path: Path, sep: str, layout: str, prefix: str, first: dict[str, int]
) -> Iterator[SourceRecord | SourceError]:
    name = _logical(path)
    default = min(first.values(), default=0)
    for line, f in _rows(path, sep):
        if len(f) != 5:
            yield SourceError(line, name, f"expected 5 fields, found {len(f)}")
            continue
        user, *rest = (x.strip() for x in f)
        traits: dict[str, Any]
        if layout == "100k":
            age, gender, occupation, zip_code = rest
            if not age.isdigit():
                yield SourceError(line, f"{name}: age", f"not a number: {age!r}")
                continue
            traits = {"age": int(age), "gender": gender, "occupation": occupation}
        else:
            gender, age, occupation, zip_code = rest
            if age not in AGE_BANDS_1M:
                yield SourceError(line, f"{name}: age", f"unknown age band code {age!r}")
                continue
            if not occupation.isdigit() or int(occupation) >= len(OCCUPATIONS_1M):
                yield SourceError(line, f"{name}: occupation", f"unknown code {occupation!r}")
                continue
            traits = {
                "age_band": AGE_BANDS_1M[age],
                "gender": gender,
                "occupation": OCCUPATIONS_1M[int(occupation)],
            }
        traits["zip"] = zip_code
        event = {
            "type": "identify",
            "userId": prefix + user,
            "messageId": stable_message_id(SOURCE, layout, "user", prefix + user),
            "timestamp": datetime.fromtimestamp(first.get(user, default), tz=UTC),
            "traits": {k: v for k, v in traits.items() if v != ""},
            "context": _context(),
        }
        yield SourceRecord("event", event, line)


def _track(
    name: str, user: str, props: dict[str, Any], when: datetime, message_id: str
) -> dict[str, Any]:
    return {
        "type": "track",
        "event": name,
        "userId": user,
        "messageId": message_id,
        "timestamp": when,
        "properties": props,
        "context": _context(),
    }


def _rating(
    line: int, f: list[str], layout: str, name: str, prefix: str
) -> SourceRecord | SourceError:
    if len(f) != 4:
        return SourceError(line, name, f"expected 4 fields, found {len(f)}")
    user, item, rating, ts = [x.strip() for x in f]
    if not user or not item:
        return SourceError(line, f"{name}: {'user' if not user else 'item'}", "empty")
    try:
        value = float(rating)
        if not math.isfinite(value):
            raise ValueError(rating)
    except ValueError:
        return SourceError(line, f"{name}: rating", f"not a number: {rating!r}")
    try:
        when = _epoch(ts)
    except (ValueError, OverflowError, OSError):
        return SourceError(line, f"{name}: timestamp", f"not epoch seconds: {ts!r}")
    user, item = prefix + user, prefix + item
    mid = ordered_message_id(SOURCE, layout, "r", user, item, ts)
    props = {"product_id": item, "rating": value}
    return SourceRecord("event", _track("Product Rated", user, props, when, mid), line)


def _tagged(line: int, f: list[str], prefix: str) -> SourceRecord | SourceError:
    if len(f) != 4:
        return SourceError(line, "tags.csv", f"expected 4 fields, found {len(f)}")
    user, item, tag, ts = (x.strip() for x in f)
    if not user or not item or not tag:
        return SourceError(line, "tags.csv", "empty userId, movieId or tag")
    try:
        when = _epoch(ts)
    except (ValueError, OverflowError, OSError):
        return SourceError(line, "tags.csv: timestamp", f"not epoch seconds: {ts!r}")
    user, item = prefix + user, prefix + item
    mid = ordered_message_id(SOURCE, "csv", "t", user, item, ts, stable_message_id(tag))
    props = {"product_id": item, "tag": tag}
    return SourceRecord("event", _track("Product Tagged", user, props, when, mid), line)
