"""The texts people wrote — reviews, feedback, search queries — and the catalogue's own text,
as one Ibis table, optionally labelled with the group each text belongs to.

Where each kind comes from (track events of the snapshot; the first property present wins):

=========  ===============================================  ================================
kind       events                                           properties read
=========  ===============================================  ================================
review     Product Reviewed                                 review_body, review, body, text;
                                                            product_id, rating
feedback   Survey Answered, Feedback Submitted              comment, feedback, text
search     Products Searched                                query
tag        Product Tagged (MovieLens tags)                  tag; product_id
item       the items table (not events)                     title, description, tags
=========  ===============================================  ================================

Groups (``by``): ``item`` (the product reviewed or described), ``category`` (the item's
top-level category), ``segment`` (the snapshot's ``segment_members`` table: a text counts in
every segment its writer is in), ``trait:KEY`` (the writer's profile trait, e.g.
``trait:gender``), or ``all``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import ibis
import ibis.expr.types as ir

from tailored.analytics.source import Source, trait
from tailored.errors import InvalidInput

__all__ = ["DEFAULT_KINDS", "GROUPINGS", "KINDS", "TEXT_SOURCES", "check_by", "check_kinds",
           "grouped_texts", "has_segments", "texts"]

TEXT_SOURCES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "review": (("Product Reviewed",), ("review_body", "review", "body", "text")),
    "feedback": (("Survey Answered", "Feedback Submitted"), ("comment", "feedback", "text")),
    "search": (("Products Searched",), ("query",)),
    "tag": (("Product Tagged",), ("tag",)),
}
KINDS = (*TEXT_SOURCES, "item")
DEFAULT_KINDS = ("review", "feedback", "search", "tag")  # what people wrote
GROUPINGS = ("all", "item", "category", "segment", "trait:KEY")

_COLUMNS = ("kind", "message_id", "profile_id", "item_id", "timestamp", "text", "rating")


def _hint(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """``kinds`` as a tuple if each is known and there is at least one, else a clear error."""
    kinds = tuple(kinds)
    if not kinds:
        raise InvalidInput(f"give at least one text kind of {', '.join(KINDS)}", field="kinds")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise InvalidInput(f"unknown text kind {unknown[0]!r}{_hint(unknown[0], KINDS)}; "
                           f"kinds: {', '.join(KINDS)}", field="kinds")
    return kinds


def check_by(by: str) -> str:
    """``by`` if it names a grouping of :data:`GROUPINGS`, else a clear error."""
    if by in GROUPINGS[:-1] or (by.startswith("trait:") and by[len("trait:"):].strip()):
        return by
    raise InvalidInput(f"cannot group by {by!r}{_hint(by, GROUPINGS)}; use one of "
                       f"{', '.join(GROUPINGS)}", field="by")


def _event_texts(source: Source, kind: str) -> ir.Table:
    names, keys = TEXT_SOURCES[kind]
    ev = source.events
    ev = ev.filter((ev.type == "track") & ev.event.isin(list(names)))
    props = ev.properties
    text = ibis.coalesce(*(trait(source, props, k) for k in keys))
    return ev.select(
        kind=ibis.literal(kind), message_id=ev.message_id, profile_id=ev.profile_id,
        item_id=trait(source, props, "product_id"), timestamp=ev.timestamp,
        text=text.strip(), rating=trait(source, props, "rating"))


def _item_texts(source: Source) -> ir.Table:
    it = source.items
    parts = [it.title.fill_null(""), it.description.fill_null(""),
             it.tags.join(" ").fill_null("")]
    text = parts[0].concat(" ", parts[1], " ", parts[2])
    return it.select(
        kind=ibis.literal("item"), message_id=ibis.null("string"),
        profile_id=ibis.null("string"), item_id=it.item_id, timestamp=it.updated_at,
        text=text.strip(), rating=ibis.null("string"))


def texts(source: Source, *, kinds: Sequence[str] = DEFAULT_KINDS) -> ir.Table:
    """One row per text of ``kinds``: kind, message_id, profile_id, item_id, timestamp,
    text, rating (as written, text; NULL where absent). Empty texts are left out."""
    parts = [_item_texts(source) if k == "item" else _event_texts(source, k)
             for k in check_kinds(kinds)]
    table = parts[0] if len(parts) == 1 else ibis.union(*parts)
    return table.filter(table.text.notnull() & (table.text != "")).select(*_COLUMNS)


def has_segments(source: Source) -> bool:
    """Whether the snapshot has segment members (``segment_members``, not empty) to group by."""
    try:
        members = source.table("segment_members")
    except InvalidInput:
        return False
    return bool(members.count().execute() > 0)


def grouped_texts(source: Source, *, by: str = "all",
                  kinds: Sequence[str] = DEFAULT_KINDS) -> ir.Table:
    """:func:`texts` with a ``group`` column saying which group of ``by`` each text is in
    (texts outside every group are left out; a text can be in several segments)."""
    t = texts(source, kinds=kinds)
    by = check_by(by)
    if by == "all":
        return t.mutate(group=ibis.literal("all"))
    if by == "item":
        return t.filter(t.item_id.notnull()).mutate(group=t.item_id)
    if by == "category":
        it = source.items
        cats = it.select(cat_item=it.item_id, group=it.category[0])
        joined = t.join(cats, t.item_id == cats.cat_item).drop("cat_item")
        return joined.filter(joined.group.notnull())
    if by == "segment":
        if not has_segments(source):
            raise InvalidInput("the snapshot has no segment members (segment_members): "
                               "compute segments first, or group by a trait with "
                               "--by trait:KEY", field="by")
        sm = source.table("segment_members")
        members = sm.select(member=sm.profile_id, group=sm.segment)
        return t.join(members, t.profile_id == members.member).drop("member")
    key = by[len("trait:"):].strip()
    pr = source.profiles
    values = pr.select(owner=pr.profile_id, group=trait(source, pr.traits, key))
    joined = t.join(values, t.profile_id == values.owner).drop("owner")
    return joined.filter(joined.group.notnull() & (joined.group != ""))
