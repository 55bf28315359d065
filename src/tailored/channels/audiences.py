"""Ad audiences: a segment's members now, as a customer list an ad platform matches to its
users (Google Ads Customer Match, Meta custom audiences), or as a plain list for our own use.

Only people who may be reached by ads go in: with consent on the ``ads`` channel (recorded,
or by ``consent_default``) and not suppressed on ``ads`` or ``all``; consents and
suppressions are read over every profile id a person had, so a merge never loses one. Each
person counts under the first reason that holds, in that order, then one without a usable
e-mail or phone is skipped too.

Identifiers are normalised the way each platform matches them, then hashed (SHA-256, lower
-case hex) for the ad platforms: a hash of a differently written value would match nobody.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import phonenumbers
import sqlalchemy as sa

from tailored.campaigns.audience import audience_members
from tailored.campaigns.outbox import person_ids
from tailored.errors import InvalidInput
from tailored.store.tables import consents, profiles, suppressions

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["FORMATS", "HEADERS", "check_region", "export_audience", "normalise_email",
           "normalise_phone", "sha256_hex"]

FORMATS = ("google", "meta", "csv")
#: Google's Customer Match upload template names its columns "Email" and "Phone"; Meta's
#: customer file names its identifiers "email" and "phone". ``csv`` holds clear personal
#: data, for the company's own use only.
HEADERS: dict[str, tuple[str, ...]] = {
    "google": ("Email", "Phone"),
    "meta": ("email", "phone"),
    "csv": ("profile_id", "email", "phone"),
}
_GMAIL = ("gmail.com", "googlemail.com")
_CHUNK = 900  # under SQLite's limit on bound parameters


def normalise_email(value: Any, *, google: bool = False) -> str | None:
    """An e-mail as ad platforms match it, or None when it cannot be one.

    Trimmed and lower-cased (Google's Customer Match and Meta's hashing guides alike); it
    must have one ``@``, a local part, and a domain of at least two non-empty labels, with
    no space anywhere. With ``google``, dots in the local part of a gmail.com or
    googlemail.com address are removed (Google's guide for hashed e-mails: Gmail ignores
    them, and Google hashes the address without them)."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    labels = domain.split(".")
    if (not at or not local or "@" in domain or len(labels) < 2 or not all(labels)
            or any(c.isspace() for c in email)):
        return None
    if google and domain in _GMAIL:
        local = local.replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


def check_region(region: str) -> str:
    """A region phonenumbers knows (ISO 3166 alpha-2, any case), upper-cased."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"unknown region {region!r}: give a two-letter country code, such "
                           "as US, GB or DE", field="region")
    return code


def normalise_phone(value: Any, default_region: str) -> str | None:
    """A phone number in E.164 (``+16502530000``), or None when it is not a valid number.

    A number without a leading ``+`` (or international prefix) is read as a number of
    ``default_region``; validity is libphonenumber's (length and prefixes of the region)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, check_region(default_region))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 value, as lower-case hex (what both platforms take)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _row(fmt: str, pid: str, email: str | None, phone: str | None) -> list[str]:
    if fmt == "csv":
        return [pid, email or "", phone or ""]
    if fmt == "meta" and phone is not None:
        # Meta hashes digits only, with the country code, no '+' and no leading zero: E.164
        # less its '+' (a country code never starts with 0).
        phone = phone.removeprefix("+")
    return [sha256_hex(email) if email else "", sha256_hex(phone) if phone else ""]


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield list(ids[i:i + _CHUNK])


def _consented(conn: sa.Connection, known: dict[str, str], default: str) -> set[str]:
    latest: dict[str, tuple[datetime, bool]] = {}
    for chunk in _chunks(list(known)):
        for pid, granted, given_at in conn.execute(
                sa.select(consents.c.profile_id, consents.c.granted, consents.c.given_at)
                .where(consents.c.profile_id.in_(chunk), consents.c.channel == "ads")):
            person = known[pid]
            if person not in latest or given_at > latest[person][0]:
                latest[person] = (given_at, bool(granted))
    return {p for p in set(known.values())
            if (latest[p][1] if p in latest else default == "opt-out")}


def _suppressed(conn: sa.Connection, known: dict[str, str]) -> set[str]:
    out: set[str] = set()
    for chunk in _chunks(list(known)):
        out.update(known[pid] for pid in conn.scalars(
            sa.select(suppressions.c.profile_id)
            .where(suppressions.c.profile_id.in_(chunk),
                   suppressions.c.channel.in_(("ads", "all")))))
    return out


def _contacts(conn: sa.Connection, store: Store, people: Sequence[str]
              ) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(people):
        for pid, traits in conn.execute(sa.select(profiles.c.profile_id, profiles.c.traits)
                                        .where(profiles.c.profile_id.in_(chunk))):
            out[pid] = store.personal.reveal_traits(traits or {})
    return out


def _write_atomically(out: Path, header: Sequence[str], rows: Iterable[list[str]]) -> None:
    # A temporary file beside the target, then one rename: a failure leaves the old file (or
    # none), never half a list. mkstemp makes it readable by its owner only: personal data.
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def export_audience(store: Store, settings: Settings, segment: str, fmt: str, out: Path, *,
                    default_region: str = "US") -> dict[str, Any]:
    """Write the segment's members now who may see ads, one row per person, to ``out`` in
    ``fmt`` (``google``, ``meta``: hashed; ``csv``: clear personal data). What was written:
    ``{"segment", "format", "out", "members", "exported", "skipped": {"no_consent",
    "suppressed", "no_identifier"}, "emails", "phones"}``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}",
                           field="format")
    region = check_region(default_region)
    if not out.parent.is_dir():
        raise InvalidInput(f"cannot write {out}: no folder {out.parent}", field="out")
    if out.is_dir():
        raise InvalidInput(f"cannot write {out}: it is a folder", field="out")
    members = audience_members(store, settings, segment=segment)
    with store.reading() as conn:
        known = person_ids(conn, members)
        consented = _consented(conn, known, settings.consent_default)
        suppressed = _suppressed(conn, known)
        traits = _contacts(conn, store, [p for p in members
                                         if p in consented and p not in suppressed])
    skipped = {"no_consent": 0, "suppressed": 0, "no_identifier": 0}
    rows: list[list[str]] = []
    emails = phones = 0
    for pid in members:
        if pid not in consented:
            skipped["no_consent"] += 1
            continue
        if pid in suppressed:
            skipped["suppressed"] += 1
            continue
        t = traits.get(pid, {})
        email = normalise_email(t.get("email"), google=fmt == "google")
        phone = normalise_phone(t.get("phone"), region) or normalise_phone(
            t.get("phone_number"), region)
        if email is None and phone is None:
            skipped["no_identifier"] += 1
            continue
        emails += email is not None
        phones += phone is not None
        rows.append(_row(fmt, pid, email, phone))
    _write_atomically(out, HEADERS[fmt], rows)
    return {"segment": segment, "format": fmt, "out": str(out), "members": len(members),
            "exported": len(rows), "skipped": skipped, "emails": emails, "phones": phones}
