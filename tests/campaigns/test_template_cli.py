"""`tailored template add|preview|list` on a real store: the contract's JSON, bad templates
refused with their line and nothing kept, a preview personalised with the person's traits,
recommendations (with reasons) and their own signed unsubscribe link."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tailored.campaigns.personalise import render_for
from tailored.campaigns.signing import Signer, signing_key
from tailored.campaigns.template_store import get_template, save_template
from tailored.campaigns.templates import MessageTemplate
from tailored.cli.app import app
from tailored.config import Settings
from tailored.errors import InvalidInput, NotFound, TailoredError
from tailored.ingest import Ingestor
from tailored.recommend.training import train_from_store
from tailored.store import Store
from tests.realtime.test_fresh_models import models_of, seed

runner = CliRunner()


def _run(db: str, *args: str, ok: bool = True) -> Any:
    result = runner.invoke(app, ["--db", db, *args])
    assert (result.exit_code == 0) == ok, result.output
    assert "Traceback" not in result.output + result.stderr
    if ok:
        return json.loads(result.stdout) if "--json" in args else result.stdout
    # The console script prints a TailoredError as one line (tests/cli covers that part);
    # here it reaches the runner as the exception.
    assert isinstance(result.exception, TailoredError), result.exception
    return str(result.exception)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 's.db'}"
    with Store.open(url) as store:
        Ingestor(store).ingest_events([{
            "type": "identify", "userId": "ann", "messageId": "i1",
            "traits": {"first_name": "Ann", "email": "ann@example.com"}}])
    return url


def test_add_then_preview_then_list(db: str, tmp_path: Path) -> None:
    html = tmp_path / "b.html"
    html.write_text("<p>Hello {{ traits.first_name }}</p>\n<a href='{{ unsubscribe_url }}'>x</a>")
    text = tmp_path / "b.txt"
    text.write_text("Hello {{ traits.first_name }}")
    added = _run(db, "template", "add", "hi", "--html", str(html), "--text", str(text),
                 "--subject", "Hi {{ traits.first_name }}", "--json")
    assert added == {"template": "hi", "created": True, "parts": ["subject", "html", "text"]}
    shown = _run(db, "template", "preview", "hi", "--person", "ann@example.com", "--json")
    assert set(shown) == {"subject", "html", "text"}
    assert shown["subject"] == "Hi Ann" and "<p>Hello Ann</p>" in shown["html"]
    assert shown["text"] == "Hello Ann"
    assert "/v1/unsubscribe/" in shown["html"]
    again = _run(db, "template", "add", "hi", "--html", str(html), "--subject", "Yo",
                 "--json")
    assert again["created"] is False and again["parts"] == ["subject", "html"]
    assert [t["template"] for t in _run(db, "template", "list", "--json")["templates"]] == [
        "hi"]


@pytest.mark.parametrize(("html", "subject", "words"), [
    ("<p>Hello {{ traits.first_name }</p>\n", "x", "template html, line 1: unexpected '}'"),
    ("<p>\n{{ trait.first_name }}</p>", "x", "template html, line 2: unknown variable"),
    ("ok", "{{ ''.__class__ }}", "template subject, line 1: '__class__' is not allowed"),
])
def test_a_bad_template_is_refused_with_its_line_and_nothing_is_kept(
        db: str, tmp_path: Path, html: str, subject: str, words: str) -> None:
    path = tmp_path / "bad.html"
    path.write_text(html)
    out = _run(db, "template", "add", "bad", "--html", str(path), "--subject", subject,
               "--json", ok=False)
    assert words in out
    assert _run(db, "template", "list", "--json")["templates"] == []


def test_missing_files_unknown_templates_and_people_are_one_clear_line(db: str) -> None:
    out = _run(db, "template", "add", "x", "--html", "/nonexistent/b.html", "--subject", "s",
               ok=False)
    assert "--html: cannot read /nonexistent/b.html" in out
    with Store.open(db) as store:
        save_template(store, MessageTemplate("hello", subject="s", html="h"))
    assert "did you mean 'hello'" in _run(db, "template", "preview", "helo", "--person",
                                          "ann", ok=False)
    assert "no person" in _run(db, "template", "preview", "hello", "--person", "zed",
                               ok=False)


def test_a_preview_lists_the_persons_recommendations_with_reasons(
        store: Store, store_url: str) -> None:
    seed(store)
    models = models_of(store, store_url)
    train_from_store(store, "item-knn", models)
    settings = Settings(database_url=store_url, public_url="https://t.shop.example/")
    save_template(store, MessageTemplate(
        "recs", subject="For you",
        html="{% for i in recommendations(2) %}[{{ i.item_id }}|{{ i.reason }}|"
             "{{ i.image_url }}]{% endfor %}"))
    out = render_for(store, models, settings, get_template(store, "recs"), "u1")
    assert out.html.count("[") == 2 and "bought" in out.html and "|None]" in out.html
    bad = MessageTemplate("k", subject="s", html="{{ recommendations(0) }}")
    with pytest.raises(InvalidInput, match="from 1 to"):
        render_for(store, models, settings, bad, "u1")
    with pytest.raises(NotFound):
        render_for(store, models, settings, bad, "nobody")


def test_unsubscribe_links_are_signed_for_the_person(store: Store, store_url: str) -> None:
    settings = Settings(database_url=store_url)
    key = signing_key(store, settings)
    assert signing_key(store, settings) == key  # made once, kept in the store
    signer = Signer(key, "unsubscribe")
    token = signer.sign({"p": "p-1", "ch": "email", "c": None})
    assert signer.read(token) == {"p": "p-1", "ch": "email", "c": None}
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidInput, match="not valid"):
        signer.read(forged)
    with pytest.raises(InvalidInput, match="not valid"):
        Signer(key, "click").read(token)  # another purpose's token
    with pytest.raises(InvalidInput, match="not valid"):
        Signer("another key", "unsubscribe").read(token)
    given = Settings(database_url=store_url, secret_key="s3cret")
    assert signing_key(store, given) == "s3cret"
    assert "s3cret" not in repr(given)


def test_public_url_is_checked() -> None:
    from pydantic import ValidationError

    assert Settings(public_url="https://t.example/x/").public_url == "https://t.example/x"
    with pytest.raises(ValidationError, match="not a base URL"):
        Settings(public_url="t.example")
