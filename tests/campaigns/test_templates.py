"""Templates: refused at save with the part and line (syntax, unknown variables, the
sandbox), rendered per person with strict undefined names and HTML escaping."""

from __future__ import annotations

from typing import Any

import pytest

from tailored.campaigns.templates import MessageTemplate, check_part, render
from tailored.errors import InvalidInput


def _recs(k: int, model: str | None = None) -> list[dict[str, Any]]:
    items = [{"item_id": f"i{n}", "title": f"Shoe <{n}>", "price": 10.0 + n,
              "url": f"https://shop.example/i{n}", "reason": f"because you viewed s{n}"}
             for n in range(1, 10)]
    return items[:k]


def _render(t: MessageTemplate, **traits: Any) -> dict[str, Any]:
    return render(t, traits=traits, live={"orders": 2}, segments=["vip"], profile_id="p-1",
                  unsubscribe_url="https://t.example/u/abc",
                  recommendations=_recs).to_dict()


def test_a_message_for_one_person_with_their_recommendations_and_reasons() -> None:
    t = MessageTemplate(
        "weekly", subject="{{ traits.first_name }}, {{ live.orders }} orders so far",
        html="<p>Hi {{ traits.first_name }}</p>\n{% for i in recommendations(2) %}"
             "<a href='{{ i.url }}'>{{ i.title }}</a> {{ i.reason }}\n{% endfor %}"
             "{% if 'vip' in segments %}VIP{% endif %}"
             "<a href='{{ unsubscribe_url }}'>unsubscribe</a>",
        text="Hi {{ traits.first_name | default('there') }} ({{ profile_id }})")
    out = _render(t, first_name="Ann & Bo")
    assert out["subject"] == "Ann & Bo, 2 orders so far"  # a header: not HTML-escaped
    assert "<p>Hi Ann &amp; Bo</p>" in out["html"]
    assert "Shoe &lt;1&gt;" in out["html"] and "because you viewed s2" in out["html"]
    assert "Shoe <3>" not in out["html"] and "VIP" in out["html"]
    assert "https://t.example/u/abc" in out["html"]
    assert out["text"] == "Hi Ann & Bo (p-1)"


@pytest.mark.parametrize(("part", "source", "line", "words"), [
    ("html", "<p>\n{% for i in recommendations(3) %}\n{{ i.title }\n{% endfor %}", 3,
     "unexpected"),
    ("html", "<p>{{ traits.name }}</p>\n<p>{{ trait.first_name }}</p>", 2,
     "unknown variable 'trait'; did you mean traits"),
    ("subject", "{% if x %}hi{% endif %}", 1, "unknown variable 'x'"),
    ("html", "line one\n{{ ''.__class__.__mro__ }}", 2, "'__mro__' is not allowed"),
    ("text", "{{ traits['_secret'] }}", 1, "'_secret' is not allowed"),
])
def test_bad_templates_are_refused_at_save_with_the_part_and_line(
        part: str, source: str, line: int, words: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_part(part, source)
    assert f"template {part}, line {line}:" in str(info.value), str(info.value)
    assert words in str(info.value)
    assert info.value.field == part


def test_the_template_s_own_names_are_not_unknown() -> None:
    check_part("html", "{% set n = 3 %}{% for i in recommendations(n) %}{{ loop.index }}"
                       "{{ i.title }}{% endfor %}")


def test_a_missing_trait_fails_the_render_naming_it_never_an_empty_string() -> None:
    t = MessageTemplate("t", subject="Hello", html="<p>\n{{ traits.first_name }}</p>")
    with pytest.raises(InvalidInput) as info:
        _render(t)
    assert "template html, line 2" in str(info.value)
    assert "first_name" in str(info.value) and "p-1" in str(info.value)


def test_the_sandbox_refuses_what_a_check_cannot_see() -> None:
    # A computed attribute name passes the static check; the sandbox stops it at render.
    t = MessageTemplate("t", subject="x", html="{{ ''|attr('_' ~ '_class' ~ '__') }}")
    with pytest.raises(InvalidInput) as info:
        _render(t)
    assert "sandbox" in str(info.value) or "class" in str(info.value)


def test_a_subject_must_stay_on_one_line() -> None:
    t = MessageTemplate("t", subject="Hi\n{{ traits.a }}", html="x")
    with pytest.raises(InvalidInput) as info:
        _render(t, a="b")
    assert "more than one line" in str(info.value)


def test_a_template_needs_a_name_and_known_parts() -> None:
    with pytest.raises(InvalidInput):
        MessageTemplate(" ", subject="s", html="h")
    with pytest.raises(InvalidInput):
        check_part("footer", "x")
