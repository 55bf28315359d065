"""Ad audiences from a segment: identifiers normalised as Google and Meta match them and
hashed exactly so; only people with ads consent and no suppression, one row each; a file
written whole or not at all; `tailored audience export` on a real store."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tailored.channels import audiences
from tailored.channels.audiences import (
    export_audience,
    normalise_email,
    normalise_phone,
    sha256_hex,
)
from tailored.cli.app import app
from tailored.config import Settings
from tailored.errors import InvalidInput, TailoredError
from tailored.ingest import Ingestor
from tailored.segments import define_segment
from tailored.store import Store
from tailored.store.tables import consents, suppressions

runner = CliRunner()


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.mark.parametrize(("raw", "google", "want"), [
    ("  Ann.Lee@Example.COM \n", False, "ann.lee@example.com"),
    ("Ann.Lee@Gmail.com", False, "ann.lee@gmail.com"),
    ("Ann.Lee@Gmail.com", True, "annlee@gmail.com"),
    (" a.b.c@googlemail.com", True, "abc@googlemail.com"),
    ("ann.lee@example.com", True, "ann.lee@example.com"),  # only Gmail ignores the dots
    ("ann+ads@example.com", True, "ann+ads@example.com"),
    ("not-an-email", False, None),
    ("a@b@example.com", False, None),
    ("@example.com", False, None),
    ("ann@localhost", False, None),
    ("ann@example..com", False, None),
    ("ann lee@example.com", False, None),
    ("...@gmail.com", True, None),
    ("", False, None),
    (None, False, None),
    (42, False, None),
])
def test_normalise_email(raw: Any, google: bool, want: str | None) -> None:
    assert normalise_email(raw, google=google) == want


@pytest.mark.parametrize(("raw", "region", "want"), [
    ("(650) 253-0000", "US", "+16502530000"),
    ("650.253.0000", "us", "+16502530000"),
    ("020 7183 8750", "GB", "+442071838750"),
    ("+44 20 7183 8750", "US", "+442071838750"),  # a + outranks the region
    ("00 44 20 7183 8750", "DE", "+442071838750"),
    (6502530000, "US", "+16502530000"),
    ("+1 555 0100", "US", None),  # parses, but no such number
    ("12", "US", None),
    ("call me", "US", None),
    ("", "US", None),
    (None, "US", None),
    (True, "US", None),
])
def test_normalise_phone(raw: Any, region: str, want: str | None) -> None:
    assert normalise_phone(raw, region) == want


def test_an_unknown_region_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown region 'XX'"):
        normalise_phone("650 253 0000", "XX")


def test_hashes_are_lower_case_sha256_hex_of_the_normalised_value() -> None:
    # FIPS 180-2's test vector for "abc".
    assert sha256_hex("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert sha256_hex("annlee@gmail.com") == hashlib.sha256(b"annlee@gmail.com").hexdigest()
    assert sha256_hex("+16502530000") == hashlib.sha256(b"+16502530000").hexdigest()


# Who is in the store: everyone on the "pro" plan is in the segment.
ANN = {"plan": "pro", "email": " Ann.Lee@Gmail.com ", "phone": "(650) 253-0000"}
PEOPLE: dict[str, tuple[dict[str, Any], bool | None]] = {
    "ann": (ANN, True),
    "bob": ({"plan": "pro", "email": "bob@example.com"}, None),  # no consent recorded
    "cy": ({"plan": "pro", "email": "cy@example.com"}, True),  # suppressed on ads
    "dee": ({"plan": "pro", "email": "not-an-email", "phone": "12"}, True),
    "eve": ({"plan": "pro", "phone_number": "+44 20 7183 8750"}, True),
    "fay": ({"plan": "basic", "email": "fay@example.com"}, True),  # not in the segment
    "hal": ({"plan": "pro", "email": "hal@example.com"}, False),  # said no
}


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(url) as store:
        ing = Ingestor(store)
        # Gus gave consent before signing in, on a profile of his own that is merged into
        # his below: the consent is read over both.
        assert not ing.ingest_events([
            {"type": "track", "event": "Page Viewed", "anonymousId": "anon-g",
             "messageId": "g0", "timestamp": "2025-01-01T09:00:00Z",
             "context": {"consent": {"categoryPreferences": {"ads": True}}}},
            {"type": "identify", "userId": "gus", "messageId": "g1",
             "timestamp": "2025-01-01T09:30:00Z"}]).rejected
        batch = []
        for i, (user, (traits, ads)) in enumerate(PEOPLE.items()):
            ev: dict[str, Any] = {"type": "identify", "userId": user, "messageId": f"i{i}",
                                  "timestamp": "2025-01-01T10:00:00Z", "traits": traits}
            if ads is not None:
                ev["context"] = {"consent": {"categoryPreferences": {"ads": ads}}}
            batch.append(ev)
        batch.append({"type": "identify", "userId": "gus", "anonymousId": "anon-g",
                      "messageId": "g2", "timestamp": "2025-01-01T11:00:00Z",
                      "traits": {"plan": "pro", "email": "gus@example.com"}})
        assert not ing.ingest_events(batch).rejected
        now = datetime.now(UTC)
        with store.transaction() as conn:
            conn.execute(suppressions.insert(), [
                {"profile_id": store.find_profile("cy"), "channel": "ads",
                 "reason": "unsubscribed", "campaign": None, "created_at": now},
                # Another channel's suppression does not keep Ann out of ads.
                {"profile_id": store.find_profile("ann"), "channel": "email",
                 "reason": "bounced", "campaign": None, "created_at": now}])
        with store.reading() as conn:
            assert conn.scalar(sa.select(consents.c.profile_id)
                               .where(consents.c.channel == "ads")
                               .order_by(consents.c.given_at)) != store.find_profile("gus")
        define_segment(store, "pro_plan", {"trait": "plan", "=": "pro"})
        define_segment(store, "enterprise", {"trait": "plan", "=": "enterprise"})
    return url


def _run(db: str, *args: str, ok: bool = True) -> Any:
    result = runner.invoke(app, ["--db", db, *args])
    assert (result.exit_code == 0) == ok, result.output
    assert "Traceback" not in result.output + result.stderr
    if ok:
        return json.loads(result.stdout) if "--json" in args else result.stdout
    if isinstance(result.exception, SystemExit):  # refused by the option parser
        return result.output
    assert isinstance(result.exception, TailoredError), result.exception
    return str(result.exception)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_google_export_hashes_with_gmail_dots_removed_and_the_plus(db: str,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "google.csv"
    got = _run(db, "audience", "export", "pro_plan", "--format", "google", "--out", str(out),
               "--json")
    assert got == {"segment": "pro_plan", "format": "google", "out": str(out), "members": 7,
                   "exported": 3,
                   "skipped": {"no_consent": 2, "suppressed": 1, "no_identifier": 1},
                   "emails": 2, "phones": 2}
    rows = _rows(out)
    assert rows[0] == ["Email", "Phone"]
    assert sorted(rows[1:]) == sorted([
        [_sha("annlee@gmail.com"), _sha("+16502530000")],
        ["", _sha("+442071838750")],
        [_sha("gus@example.com"), ""],
    ])


def test_meta_export_hashes_phone_digits_without_the_plus(db: str, tmp_path: Path) -> None:
    out = tmp_path / "meta.csv"
    got = _run(db, "audience", "export", "pro_plan", "--format", "meta", "--out", str(out),
               "--json")
    assert got["exported"] == 3
    rows = _rows(out)
    assert rows[0] == ["email", "phone"]
    assert [_sha("ann.lee@gmail.com"), _sha("16502530000")] in rows
    assert ["", _sha("442071838750")] in rows


def test_csv_export_is_clear_with_profile_ids(db: str, tmp_path: Path) -> None:
    out = tmp_path / "own.csv"
    said = _run(db, "audience", "export", "pro_plan", "--format", "csv", "--out", str(out))
    assert "exported 3 of 7" in said and "clear personal data" in said
    with Store.open(db) as store:
        ann, eve = store.find_profile("ann"), store.find_profile("eve")
    rows = _rows(out)
    assert rows[0] == ["profile_id", "email", "phone"]
    assert [ann, "ann.lee@gmail.com", "+16502530000"] in rows
    assert [eve, "", "+442071838750"] in rows


def test_revoking_consent_removes_the_person_on_the_next_export(db: str,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    args = ("audience", "export", "pro_plan", "--format", "csv", "--out", str(out), "--json")
    assert _run(db, *args)["exported"] == 3
    _run(db, "consent", "ann", "--channel", "ads", "--revoke", "--json")
    again = _run(db, *args)
    assert again["exported"] == 2 and again["skipped"]["no_consent"] == 3
    assert not any("ann.lee@gmail.com" in r for r in _rows(out))


def test_opt_out_default_lets_in_people_without_a_record(db: str, tmp_path: Path) -> None:
    settings = Settings(database_url=db, consent_default="opt-out")
    with Store.open(db) as store:
        got = export_audience(store, settings, "pro_plan", "meta", tmp_path / "m.csv")
    # Bob (no record) is in; Hal, who said no, is still out.
    assert got["exported"] == 4 and got["skipped"]["no_consent"] == 1


def test_a_bad_format_names_the_option_and_writes_nothing(db: str, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    said = _run(db, "audience", "export", "pro_plan", "--format", "tiktok", "--out", str(out),
                ok=False)
    assert "--format must be one of google, meta, csv, got 'tiktok'" in said
    assert not out.exists()
    said = _run(db, "audience", "export", "pro_plan", "--format", "google", "--out", str(out),
                "--region", "XX", ok=False)
    assert "--region" in said and "unknown region 'XX'" in said and not out.exists()


def test_an_unknown_segment_names_close_matches(db: str, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    said = _run(db, "audience", "export", "pro_plna", "--format", "google", "--out", str(out),
                ok=False)
    assert "no segment 'pro_plna'" in said and "did you mean 'pro_plan'" in said
    assert not out.exists()


def test_an_empty_segment_writes_a_header_only_file_and_says_so(db: str,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    said = _run(db, "audience", "export", "enterprise", "--format", "google", "--out",
                str(out))
    assert "has no members now" in said and "header-only" in said
    assert _rows(out) == [["Email", "Phone"]]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "keep.csv"
    out.write_text("old\n")

    def rows() -> Any:
        yield ["a", "b"]
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        audiences._write_atomically(out, ("Email", "Phone"), rows())
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.csv"]


def test_an_out_path_without_its_folder_is_refused(db: str, tmp_path: Path) -> None:
    with Store.open(db) as store, pytest.raises(InvalidInput, match="no folder"):
        export_audience(store, Settings(database_url=db), "pro_plan", "google",
                        tmp_path / "nope" / "a.csv")
