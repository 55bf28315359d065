"""The interaction table that splits cut, and the split files it can be read from.

An :class:`InteractionTable` is four parallel NumPy arrays (users, items, optional
timestamps, optional ratings), one row per interaction, so that a split of 20 million rows
is a handful of vectorised index operations. A :class:`Split` is the pair of tables a
protocol produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tailored.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Hashable

    from numpy.typing import ArrayLike

__all__ = ["COLUMNS", "REQUIRED_COLUMNS", "InteractionTable", "Split", "read_split_file"]

REQUIRED_COLUMNS = ("user_id", "item_id")
COLUMNS = (*REQUIRED_COLUMNS, "rating", "timestamp")


@dataclass(frozen=True, eq=False)
class InteractionTable:
    """Interactions as parallel arrays: row ``i`` is ``users[i]`` meeting ``items[i]``.

    Parameters
    ----------
    users, items : array-like
        Ids of any type NumPy can hold (integers or strings).
    timestamps : array-like, optional
        Numbers or ``datetime64``; needed by the temporal splits only.
    ratings : array-like, optional
        Explicit ratings, where the data has them.

    Examples
    --------
    >>> table = InteractionTable([1, 1, 2], [5, 6, 5], timestamps=[10, 20, 30])
    >>> len(table), table.item_sets()
    (3, {1: {5, 6}, 2: {5}})
    """

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray | None = None
    ratings: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = None
        for name in ("users", "items", "timestamps", "ratings"):
            value = getattr(self, name)
            if value is None:
                continue
            array = np.asarray(value)
            if array.ndim != 1:
                raise InvalidInput(f"{name} must be one-dimensional, not of shape "
                                   f"{array.shape}", field=name)
            if n is not None and len(array) != n:
                raise InvalidInput(f"{name} has {len(array)} rows where users has {n}",
                                   field=name)
            n = len(array)
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return len(self.users)

    def __repr__(self) -> str:
        # The arrays can hold millions of rows: say what there is, not all of it.
        extra = [name for name in ("timestamps", "ratings") if getattr(self, name) is not None]
        return f"<InteractionTable: {len(self)} rows{''.join(', ' + e for e in extra)}>"

    def take(self, index: ArrayLike) -> InteractionTable:
        """The rows at ``index``: integer positions or a boolean mask."""
        index = np.asarray(index)
        return InteractionTable(
            self.users[index], self.items[index],
            None if self.timestamps is None else self.timestamps[index],
            None if self.ratings is None else self.ratings[index])

    def item_sets(self) -> dict[Hashable, set[Hashable]]:
        """Each user's distinct items: the ``relevant`` argument of the ranking metrics."""
        if len(self) == 0:
            return {}
        order = np.argsort(self.users, kind="stable")
        users, items = self.users[order], self.items[order]
        starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        # tolist() gives Python scalars, so the keys compare equal to plain ints and strs.
        return {user: set(chunk.tolist())
                for user, chunk in zip(users[starts].tolist(), np.split(items, starts[1:]),
                                       strict=True)}


@dataclass(frozen=True, eq=False)
class Split:
    """What a splitting protocol returns: fit on ``train``, score on ``test``."""

    train: InteractionTable
    test: InteractionTable


def read_split_file(path: str | Path) -> InteractionTable:
    """Read one side of a split from CSV or Parquet.

    The file has the columns ``user_id`` and ``item_id`` and optionally ``rating`` and
    ``timestamp``; others are ignored. Ids are read as text, so that ``"007"`` stays
    ``"007"`` and matches the ids the store keeps. Timestamps given as dates become
    seconds since the epoch.

    Raises
    ------
    InvalidInput
        (a ``ValueError``) when a required column is missing (the message names it and
        lists the columns present), a value of a known column is empty, or the file has
        no rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "test.csv"
    >>> _ = path.write_text("user_id,item_id,rating\\n7,42,4.5\\n")
    >>> table = read_split_file(path)
    >>> table.users.tolist(), table.items.tolist(), table.ratings.tolist()
    (['7'], ['42'], [4.5])
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        data = pq.read_table(path)
    elif ".csv" in suffixes:
        # Ids stay text; only an empty field is missing (an item may be called "NA").
        options = pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in REQUIRED_COLUMNS},
            null_values=[""], strings_can_be_null=True)
        data = pa_csv.read_csv(path, convert_options=options)
    else:
        raise InvalidInput(f"{path}: a split file is .csv or .parquet, not "
                           f"{''.join(path.suffixes) or 'without an extension'}", field="path")
    present = data.column_names
    for name in REQUIRED_COLUMNS:
        if name not in present:
            raise InvalidInput(f"{path}: missing column {name!r}; the file has columns "
                               f"{', '.join(present) or '(none)'}", field=name)
    if data.num_rows == 0:
        raise InvalidInput(f"{path}: the file has no rows", field="path")
    for name in COLUMNS:
        if name in present and data.column(name).null_count:
            raise InvalidInput(f"{path}: {data.column(name).null_count} row(s) with an empty "
                               f"{name}", field=name)
    users, items = (np.asarray(data.column(name).cast(pa.string()).to_numpy(
        zero_copy_only=False), dtype=object) for name in REQUIRED_COLUMNS)
    ratings = timestamps = None
    if "rating" in present:
        try:
            ratings = data.column("rating").cast(pa.float64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise InvalidInput(f"{path}: rating must be numbers", field="rating") from None
    if "timestamp" in present:
        stamps = data.column("timestamp")
        if pa.types.is_date(stamps.type):
            stamps = stamps.cast(pa.timestamp("s"))
        if pa.types.is_timestamp(stamps.type):
            stamps = stamps.cast(pa.timestamp("s", tz=stamps.type.tz)).cast(pa.int64())
        if not (pa.types.is_integer(stamps.type) or pa.types.is_floating(stamps.type)):
            raise InvalidInput(f"{path}: timestamp must be numbers (seconds since the epoch) "
                               f"or ISO 8601 dates, not {stamps.type}", field="timestamp")
        timestamps = stamps.to_numpy()
    return InteractionTable(users, items, timestamps, ratings)
