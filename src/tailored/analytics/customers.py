"""Who counts as a customer: identified people, the one rule every customer analysis uses.

A *customer* is a profile with a user id or an e-mail. An anonymous profile — a visitor who
never logged in, a guest checkout, an invoice without a customer number — is one visit or
one order with no way to tell whether the person ever came back: in RFM it is a £0 or a
one-time "customer", in BTYD models a buyer who never repeats, in clusters a cloud of
one-event points. So RFM, lifecycle segments, clustering, learned segments and the
predictions take identified customers by default, and every report says how many profiles it
left out and why (``"excluded": {"anonymous": n}``); ``include_anonymous`` takes everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tailored.errors import InvalidInput

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from tailored.analytics.source import Source

__all__ = ["CUSTOMER_RULE", "Customers", "identified_profiles", "keep_customers",
           "keep_customers_frame"]

#: The rule in words, for reports and messages.
CUSTOMER_RULE = "identified people (a user id or an e-mail)"
#: Why a profile is left out.
ANONYMOUS = "anonymous"


def identified_profiles(source: Source) -> ir.Table:
    """The ``profile_id`` of every profile with a user id or an e-mail identity."""
    p = source.profiles
    with_user = p.filter(p.user_id.notnull()).select("profile_id")
    try:
        ids = source.table("identities")
    except InvalidInput:  # a snapshot without identities: user ids are all there is
        return with_user
    emails = ids.filter((ids.kind == "email") & ids.profile_id.notnull()).select("profile_id")
    return with_user.union(emails, distinct=True)


@dataclass(frozen=True)
class Customers:
    """Which people an analysis takes, and how many it left out of those it could have.

    ``include_anonymous`` takes everyone; ``excluded`` is set by :func:`keep_customers`.
    """

    include_anonymous: bool = False
    excluded: int = 0

    def report(self) -> dict[str, object]:
        """What a JSON report says: ``"customers_rule"`` and ``"excluded"`` (by reason)."""
        return {"customers_rule": "everyone" if self.include_anonymous else CUSTOMER_RULE,
                "excluded": {ANONYMOUS: self.excluded}}


def keep_customers(source: Source, table: ir.Table, *, include_anonymous: bool = False
                   ) -> tuple[ir.Table, Customers]:
    """The rows of ``table`` (which has a ``profile_id`` column) that are customers, and how
    many of its distinct profiles were left out (one count query; none when including
    everyone)."""
    if include_anonymous:
        return table, Customers(include_anonymous=True)
    people = identified_profiles(source)
    left = table.anti_join(people, "profile_id")
    excluded = int(left.profile_id.nunique().execute() or 0)
    return table.semi_join(people, "profile_id"), Customers(excluded=excluded)


def keep_customers_frame(source: Source, frame: pd.DataFrame, *,
                         include_anonymous: bool = False) -> tuple[pd.DataFrame, Customers]:
    """The rows of a pandas frame indexed by ``profile_id`` that are customers, and how many
    were left out."""
    if include_anonymous:
        return frame, Customers(include_anonymous=True)
    known = set(identified_profiles(source).execute()["profile_id"].astype(str))
    keep = frame.index.astype(str).isin(known)
    return frame[keep], Customers(excluded=int((~keep).sum()))
