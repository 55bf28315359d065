"""The Python API for notebooks: :class:`Tailored`, a store opened with every stage of the
flow as a method — ingest, people, segments, recommendations, predictions.

It does what the CLI does, through the same functions, and returns plain dicts and lists
(what ``--json`` prints) instead of printing. Settings come from the same places as the
CLI's (``TAILORED_*``, ``tailored.toml``) unless given. docs/python-api.md has a walk-through.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from tailored.config import Settings
from tailored.errors import InvalidInput
from tailored.store import Store

if TYPE_CHECKING:
    from tailored.analytics.source import Source
    from tailored.ingest.sources.records import SourceError, SourceRecord, SourceSkip
    from tailored.recommend.model_store import ModelStore

__all__ = ["Tailored"]

_IMPORTERS = ("movielens", "online-retail", "cdnow")
_PREDICTIONS = ("clv", "propensity", "churn")
_CLV_OPTIONS = frozenset({"time_unit", "model", "months", "discount_rate", "fit_method",
                          "include_anonymous"})


def _day(value: date | str | None, field: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise InvalidInput(f"{field} must be a date YYYY-MM-DD, got {value!r}",
                           field=field) from None


def _moment(value: datetime | date | str | None, field: str = "as_of") -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    day = _day(value, field)
    assert day is not None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class Tailored:
    """A Tailored store, opened.

    Parameters
    ----------
    database_url : str, optional
        ``sqlite:///PATH`` or ``postgresql://USER@HOST/DB``; default: the settings'
        ``database_url`` (``TAILORED_DATABASE_URL``, ``tailored.toml``, ``./tailored.db``).
    settings : Settings, optional
        Every setting at once; ``database_url`` and ``overrides`` then change only those.
    **overrides
        Other settings by name (``models_dir=...``, ``ingest_chunk_size=...``).

    A store that does not exist yet is created (with its folder's permission). Use it as a
    context manager, or call :meth:`close`.

    Examples
    --------
    >>> from tailored import Tailored
    >>> with Tailored("sqlite:///shop.db") as t:
    ...     t.ingest([{"type": "track", "event": "Product Viewed", "userId": "ann",
    ...                "properties": {"product_id": "sku-1"}, "messageId": "m-1",
    ...                "timestamp": "2026-01-05T10:00:00Z"}])["accepted"]
    1
    """

    def __init__(self, database_url: str | None = None, *, settings: Settings | None = None,
                 **overrides: Any) -> None:
        changes = dict(overrides)
        if database_url is not None:
            changes["database_url"] = database_url
        if settings is None:
            settings = Settings(**changes)
        elif changes:
            settings = settings.model_copy(update=changes)
        self.settings = settings
        self.store = Store.open(settings.database_url)

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Tailored({self.store.url!r})"

    # -- collect ---------------------------------------------------------------------------

    def _ingest(self, records: Iterable[SourceRecord | SourceError | SourceSkip],
                strict: bool) -> dict[str, Any]:
        from tailored.ingest import Ingestor

        report = Ingestor.from_settings(self.store, self.settings).ingest(records, strict=strict)
        return report.to_dict()

    def ingest(self, events: Iterable[Mapping[str, Any]] | str | Path, *,
               strict: bool = False) -> dict[str, Any]:
        """Ingest Segment events: an iterable of dicts, or the path of a JSON Lines file
        (gzip too). Returns the report (``accepted``, ``duplicates``, ``rejected`` with the
        index, field and reason of each bad event, ...). ``strict``: all or nothing."""
        from tailored.ingest import open_binary, read_jsonl
        from tailored.ingest.sources.records import SourceRecord

        if isinstance(events, str | Path):
            path = Path(events)
            if not path.is_file():
                raise InvalidInput(f"no such file: {path}", field="events")
            with open_binary(str(path)) as stream:
                return self._ingest(read_jsonl(stream), strict)
        if isinstance(events, Mapping):
            raise InvalidInput("give a list of events, not one event", field="events")
        return self._ingest((SourceRecord("event", dict(raw), i)
                             for i, raw in enumerate(events)), strict)

    def import_dataset(self, kind: str, path: str | Path, *, id_prefix: str = "",
                       strict: bool = False) -> dict[str, Any]:
        """Import a data set: ``movielens`` (a folder), ``online-retail`` or ``cdnow`` (a
        file), as ``tailored import KIND PATH`` does."""
        path = Path(path)
        if kind not in _IMPORTERS:
            raise InvalidInput(f"kind must be one of {', '.join(_IMPORTERS)}, got {kind!r}",
                               field="kind")
        if not path.exists():
            raise InvalidInput(f"no such file or folder: {path}", field="path")
        records: Iterable[SourceRecord | SourceError | SourceSkip]
        if kind == "movielens":
            from tailored.ingest.sources.movielens import read_movielens

            records = read_movielens(path, id_prefix=id_prefix)
        elif kind == "online-retail":
            from tailored.ingest.sources.online_retail import read_online_retail

            records = read_online_retail(path, id_prefix=id_prefix)
        else:
            from tailored.ingest.sources.cdnow import read_cdnow

            records = read_cdnow(path, id_prefix=id_prefix)
        return self._ingest(records, strict)

    def demo(self, out: str | Path = "demo-shop", *, people: int = 400,
             items: int | None = None, days: int = 120, seed: int = 7) -> dict[str, Any]:
        """Generate the seeded demo shop (items, social edges, events and the hidden truth,
        written to the folder ``out``) and ingest it, as ``tailored quickstart`` does."""
        from tailored.demo import ShopConfig, generate_shop, read_shop_records, write_shop

        config = ShopConfig(people=people, items=items or max(100, people * 3 // 4),
                            days=days, seed=seed)
        try:
            shop = generate_shop(config)
        except ValueError as exc:
            raise InvalidInput(str(exc), field="people") from None
        write_shop(shop, Path(out))
        return {"folder": str(out), **self._ingest(read_shop_records(Path(out)), False)}

    # -- people ----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts: events by type and platform, duplicates, profiles, merges, items, edges."""
        return self.store.stats()

    def profile(self, person: str, *, merges: bool = False) -> dict[str, Any]:
        """One person by any of their ids: identities, devices, traits, event count (and the
        merges that shaped the profile with ``merges``), its live counters (``live``) and
        current segments (``segments``)."""
        from tailored.realtime.profile_view import with_live

        data = with_live(self.store, self.store.profile(person))
        if merges:
            data["merges"] = self.store.merge_history(person)
        return data

    def profiles(self, limit: int = 10) -> list[dict[str, Any]]:
        """The busiest profiles first."""
        return self.store.profiles(limit)

    # -- understand ------------------------------------------------------------------------

    @contextmanager
    def snapshot(self, backend: str = "duckdb") -> Iterator[Source]:
        """The store's data as Ibis tables (``source.events``, ``source.interactions``,
        ``source.profiles``, ...) on DuckDB or PostgreSQL, for any function of
        :mod:`tailored.analytics`: the store's own snapshot (the ``snapshot_dir`` setting),
        first brought up to date, as the CLI's analytics commands read it."""
        from tailored.analytics.source import opened
        from tailored.store.snapshot_files import snapshot_lock
        from tailored.store.snapshots import export_snapshot

        s = self.settings
        url = s.analytics_url or (s.database_url if s.database_url.startswith("postgres")
                                  else None)
        folder = s.store_snapshot_dir()
        export_snapshot(self.store, folder)
        # Held while the queries run: a refresh by another process waits for them.
        with snapshot_lock(folder, exclusive=False), opened(folder, backend, url=url) as source:
            yield source

    def define_segment(self, name: str, rule: Mapping[str, Any] | str, *,
                       description: str | None = None) -> dict[str, Any]:
        """Define (or redefine) a rule segment: a rule document (dict), inline JSON or YAML,
        or the path of a .json/.yaml file (docs/segments.md)."""
        from tailored.segments.definitions import define_segment
        from tailored.segments.rules import load_rule_document

        doc = dict(rule) if isinstance(rule, Mapping) else load_rule_document(rule)
        return define_segment(self.store, name, doc, description=description)

    def segment(self, name: str, *, as_of: datetime | date | str | None = None,
                backend: str = "duckdb") -> dict[str, Any]:
        """Compute the rule segment ``name`` for everyone and record who entered and left;
        returns its size, changes, warnings and current ``members`` (profile ids)."""
        from tailored.segments.compute import compute_segments
        from tailored.segments.membership import current_members

        with self.snapshot(backend) as source:
            (result,) = compute_segments(self.store, source, [name], as_of=_moment(as_of))
        return {**result, "members": current_members(self.store, name)}

    def members(self, name: str) -> list[str]:
        """The current members (profile ids) of a segment of any kind."""
        from tailored.segments.membership import current_members

        return current_members(self.store, name)

    def rfm(self, *, as_of: datetime | date | str | None = None, save: bool = True,
            include_anonymous: bool = False, backend: str = "duckdb") -> dict[str, Any]:
        """RFM scores and named groups of every identified customer (``include_anonymous``:
        anonymous buyers too), saved as segments ``rfm:GROUP`` and the ``rfm_group`` trait
        unless ``save=False``."""
        from tailored.segments.rfm import compute_rfm

        with self.snapshot(backend) as source:
            result = compute_rfm(source, as_of=_moment(as_of),
                                 include_anonymous=include_anonymous)
        data: dict[str, Any] = result.summary()
        if save:
            from tailored.segments.writeback import save_rfm

            saved = save_rfm(self.store, result)
            data["saved"] = {"traits_written": saved["traits_written"],
                             "segments": sorted(saved["segments"])}
        return data

    # -- recommend -------------------------------------------------------------------------

    @property
    def models(self) -> ModelStore:
        """The store's trained models (``<db>.models/`` beside a SQLite file, the
        ``trained_models`` table of a PostgreSQL store, or the ``models_dir`` setting)."""
        from tailored.recommend.model_store import open_models

        return open_models(self.store, self.settings.models_folder())

    def train(self, model: str | None = None) -> dict[str, Any]:
        """Train a recommender (default: the ``default_model`` setting, else item-knn) on a
        fresh snapshot and save it; returns what was trained, on how much, and where it was
        saved."""
        from tailored.recommend.training import train_from_store

        _, meta = train_from_store(self.store, model or self.settings.default_model
                                   or "item-knn", self.models)
        return meta

    def recommend(self, person: str, k: int = 10, *, model: str | None = None,
                  **filters: Any) -> dict[str, Any]:
        """The top ``k`` items for any id of a person, each with a score and a reason; an
        unknown person gets the cold-start list. ``model``: a trained model (default: the
        ``default_model`` setting, else the one trained last). ``filters``: those of
        :class:`tailored.recommend.Filters` (``exclude_seen``, ``categories``, ``brands``,
        ``price_min``, ``price_max``, ``max_per_category``, ``diversity``, ``pinned``)."""
        from tailored.recommend import Filters
        from tailored.recommend.training import recommendations_for

        try:
            chosen = Filters(**filters)
        except TypeError as exc:
            raise InvalidInput(f"unknown filter: {exc}", field="filters") from None
        models = self.models
        recommender = models.load(models.resolve(model, self.settings.default_model))
        return recommendations_for(recommender, self.store, person, k, chosen)

    def similar(self, item: str, k: int = 10, *, model: str | None = None
                ) -> list[dict[str, Any]]:
        """The ``k`` items most like ``item``, each with a reason."""
        from tailored.recommend.training import similar_for

        models = self.models
        recommender = models.load(models.resolve(model, self.settings.default_model))
        items: list[dict[str, Any]] = similar_for(recommender, self.store, item, k)["items"]
        return items

    # -- predict ---------------------------------------------------------------------------

    def predict(self, kind: str, *, write: bool = True, backend: str = "duckdb",
                **options: Any) -> dict[str, Any]:
        """Fit a prediction and (``write``) store each person's score in their traits.

        ``kind`` and its options, as the ``tailored predict`` commands take them:

        - ``"clv"``: ``calibration_end`` (a date, required), ``holdout_end``, ``time_unit``
          (``"weeks"``), ``model`` (``"bg-nbd"``), ``months``, ``discount_rate``,
          ``fit_method`` (``"map"``) — needs the ``clv`` extra;
        - ``"propensity"`` and ``"churn"``: ``cutoff`` (a date, required) and
          ``horizon_days`` (30 and 90 by default).

        Each takes ``include_anonymous`` (default False: identified customers only).

        Returns the report (``traits_written`` says how many profiles were updated).
        """
        from tailored.store.traits import write_traits

        if kind not in _PREDICTIONS:
            raise InvalidInput(f"kind must be one of {', '.join(_PREDICTIONS)}, got {kind!r}",
                               field="kind")
        if kind == "clv":
            from tailored.predict.lifetime import run_lifetime_value

            options = dict(options)
            cal_end = _day(options.pop("calibration_end", None), "calibration_end")
            if cal_end is None:
                raise InvalidInput("predict('clv') needs calibration_end",
                                   field="calibration_end")
            hold_end = _day(options.pop("holdout_end", None), "holdout_end")
            unknown = sorted(set(options) - _CLV_OPTIONS)
            if unknown:
                raise InvalidInput(f"unknown option(s) for clv: {', '.join(unknown)}",
                                   field=unknown[0])
            with self.snapshot(backend) as source:
                report, traits = run_lifetime_value(
                    source, calibration_end=cal_end, holdout_end=hold_end, **options)
        else:
            from tailored.predict.propensity import run_propensity

            cutoff = _moment(options.pop("cutoff", None), "cutoff")
            if cutoff is None:
                raise InvalidInput(f"predict({kind!r}) needs cutoff", field="cutoff")
            horizon = int(options.pop("horizon_days", 30 if kind == "propensity" else 90))
            anonymous = bool(options.pop("include_anonymous", False))
            if options:
                raise InvalidInput(f"unknown option(s) for {kind}: {', '.join(options)}",
                                   field=next(iter(options)))
            target = "purchase" if kind == "propensity" else "churn"
            with self.snapshot(backend) as source:
                report, traits = run_propensity(source, cutoff=cutoff, horizon_days=horizon,
                                                target=target, include_anonymous=anonymous)
        report["traits_written"] = write_traits(self.store, traits) if write else 0
        return report
