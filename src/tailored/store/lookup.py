"""Finding people by one string: which profile, and which kind of id matched.

Two depths. :func:`first_match` is the everyday look-up (indexed, one answer): the profile id
itself, else the identity kinds in a fixed order. :func:`every_match` is for acts on a person
that must not hit the wrong one — erasure and export on request: it collects every profile
that holds the string, as any identity or as the e-mail in its traits. An e-mail is a trait
anyone with a write key can set on their own profile, and a user id can be any string, so
an e-mail may name several people; the caller decides what to do when it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from tailored.errors import NotFound
from tailored.events import normalise_email
from tailored.store.personal import PersonalData
from tailored.store.tables import identities, profiles

__all__ = ["MATCH_KINDS", "Match", "MatchKind", "every_match", "first_match"]

MatchKind = Literal["profile_id", "user_id", "email", "anonymous_id", "device_id"]
# Identity kinds tried, in order, when a person is named by one string.
_IDENTITY_KINDS: tuple[MatchKind, ...] = ("user_id", "email", "anonymous_id", "device_id")
MATCH_KINDS: tuple[MatchKind, ...] = ("profile_id", *_IDENTITY_KINDS)


@dataclass(frozen=True, slots=True)
class Match:
    """A profile the string names: ``matched_by`` the kind of id, ``via`` where it was held
    ("identity", "trait" for an e-mail in the profile's traits, "profile" for its id)."""

    profile_id: str
    matched_by: MatchKind
    via: str = "identity"

    def describe(self) -> str:
        where = "e-mail trait" if self.via == "trait" else self.matched_by.replace("_", " ")
        return f"{self.profile_id} (by {where})"


def _by_profile_id(conn: sa.Connection, identifier: str) -> Match | None:
    row = conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into)
                       .where(profiles.c.profile_id == identifier)).first()
    if row is None:
        return None
    return Match(row.merged_into or row.profile_id, "profile_id", "profile")


def _candidates(identifier: str) -> list[tuple[MatchKind, str]]:
    """(kind, value) pairs the string may be, in look-up order."""
    email = normalise_email(identifier)
    out: list[tuple[MatchKind, str]] = []
    for kind in _IDENTITY_KINDS:
        if kind != "email":
            out.append((kind, identifier))
        elif email is not None:
            out.append((kind, email))
    return out


def first_match(conn: sa.Connection, identifier: str, personal: PersonalData) -> Match:
    """The person the string names: the profile id, else the first identity kind found."""
    found = _by_profile_id(conn, identifier)
    if found is not None:
        return found
    for kind, value in _candidates(identifier):
        pid = conn.scalar(sa.select(identities.c.profile_id).where(
            identities.c.kind == kind,
            identities.c.value == personal.protect_identity(kind, value)))
        if pid is not None:
            return Match(pid, kind)
    raise NotFound(f"no person with the id {identifier!r}")


def _with_email_trait(conn: sa.Connection, email: str, personal: PersonalData) -> list[str]:
    """Canonical ids of profiles whose ``email`` trait is this address.

    Read back through the codec and normalised here, not compared in SQL: the stored form is
    the codec's business (an encrypting codec stores no comparable text), and SQLite's
    ``lower`` knows only ASCII. A scan of profiles with an e-mail; erasure is rare.
    """
    stored = profiles.c.traits["email"]
    rows = conn.execute(sa.select(profiles.c.profile_id, profiles.c.merged_into, stored)
                        .where(stored.as_string().is_not(None)))
    found = []
    for pid, merged_into, value in rows:
        if normalise_email(personal.reveal_traits({"email": value})["email"]) == email:
            found.append(merged_into or pid)
    return found


def _with_email_user_id(conn: sa.Connection, email: str, personal: PersonalData) -> list[str]:
    """Profiles whose user id is this address in any spelling ("Ann@Example.com ")."""
    rows = conn.execute(sa.select(identities.c.profile_id, identities.c.value).where(
        identities.c.kind == "user_id", identities.c.value.contains("@", autoescape=True)))
    return [pid for pid, value in rows
            if normalise_email(personal.reveal_identity("user_id", value)) == email]


def every_match(conn: sa.Connection, identifier: str, personal: PersonalData) -> list[Match]:
    """Every profile that holds the string, one :class:`Match` each, strongest kind first.

    A profile id names exactly that person. Otherwise each identity kind is looked up, and an
    e-mail is also searched for in every profile's traits. Raises NotFound if none holds it.
    """
    found = _by_profile_id(conn, identifier)
    if found is not None:
        return [found]
    matches: dict[str, Match] = {}
    for kind, value in _candidates(identifier):
        pids = conn.scalars(sa.select(identities.c.profile_id).where(
            identities.c.kind == kind,
            identities.c.value == personal.protect_identity(kind, value)))
        for pid in pids:
            matches.setdefault(pid, Match(pid, kind))
    email = normalise_email(identifier)
    if email is not None:
        for pid in _with_email_user_id(conn, email, personal):
            matches.setdefault(pid, Match(pid, "user_id"))
        for pid in _with_email_trait(conn, email, personal):
            matches.setdefault(pid, Match(pid, "email", "trait"))
    if not matches:
        raise NotFound(f"no person with the id {identifier!r}")
    return list(matches.values())
