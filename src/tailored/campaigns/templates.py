"""Message templates: Jinja2 in a sandbox, checked when saved, rendered per person.

A template has a subject, an HTML part and an optional plain-text part. Each part is checked
when the template is saved, so a marketer learns of a mistake then, with its line, and not
from a send that failed for a hundred thousand people:

* syntax (Jinja2's parser, its line and message);
* variables: only the context's names may be read (``traits``, ``live``, ``segments``,
  ``profile_id``, ``unsubscribe_url``, ``recommendations``) besides the template's own
  ``set``/``for`` names; an unknown one is refused with its line and the close matches;
* the sandbox: no attribute or item whose name starts with ``_`` (the way out of a Jinja2
  sandbox begins with ``__class__``), refused at save; rendering runs in Jinja2's
  ``SandboxedEnvironment`` as well, so what a check cannot see (a computed name) still fails.

Rendering uses ``StrictUndefined``: a trait the person does not have is an error naming it,
never an empty string in a sent message (write ``traits.first_name | default("there")``).
The HTML part is autoescaped; the subject and the text part are not (they are not HTML). A
subject must render to one line.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from tailored.errors import InvalidInput

__all__ = ["CONTEXT_NAMES", "MessageTemplate", "Rendered", "check_part", "render"]

#: What a template may read.
CONTEXT_NAMES = ("traits", "live", "segments", "profile_id", "unsubscribe_url",
                 "recommendations", "coupon", "item")
PARTS = ("subject", "html", "text")


def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape,
                                keep_trailing_newline=True)


# One environment per escaping mode: building one is not free, and they hold no state.
_ENVIRONMENTS = {True: _environment(True), False: _environment(False)}


def _env(part: str) -> SandboxedEnvironment:
    return _ENVIRONMENTS[part == "html"]


@functools.lru_cache(maxsize=256)
def _compiled(part: str, source: str) -> Template:
    """A part compiled once, not once per person (compiling costs far more than rendering)."""
    return _env(part).from_string(source)


def _no_coupon(*_: Any, **__: Any) -> str:
    raise InvalidInput("coupon(): codes are made for a campaign's messages; a preview has "
                       "none", field="coupon")


def _fail(part: str, line: int | None, message: str) -> InvalidInput:
    where = f"{part}, line {line}" if line else part
    return InvalidInput(f"template {where}: {message}", field=part)


def check_part(part: str, source: str) -> None:
    """Refuse a template part that does not parse, reads a name the context lacks, or
    reaches for a private attribute: :class:`InvalidInput` naming the part and line."""
    if part not in PARTS:
        raise InvalidInput(f"unknown template part {part!r} (parts: {', '.join(PARTS)})",
                           field="part")
    env = _env(part)
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise _fail(part, exc.lineno, exc.message or "syntax error") from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(CONTEXT_NAMES))
    if unknown:
        name = unknown[0]
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), None)
        close = difflib.get_close_matches(name, CONTEXT_NAMES, n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise _fail(part, line, f"unknown variable {name!r}{hint} (a template reads "
                    f"{', '.join(CONTEXT_NAMES)})")
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key: object = None
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            key = node.arg.value
        if isinstance(key, str) and key.startswith("_"):
            raise _fail(part, node.lineno, f"{key!r} is not allowed: a template may not "
                        "reach private attributes (the sandbox)")


@dataclass(frozen=True)
class MessageTemplate:
    """A message's parts, checked when made."""

    name: str
    subject: str
    html: str
    text: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("a template needs a name", field="name")
        for part, source in self.parts():
            check_part(part, source)

    def parts(self) -> Iterable[tuple[str, str]]:
        yield "subject", self.subject
        yield "html", self.html
        if self.text is not None:
            yield "text", self.text


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {"subject": self.subject, "html": self.html, "text": self.text}


def render(template: MessageTemplate, *, traits: Mapping[str, Any],
           live: Mapping[str, Any] | None, segments: Iterable[str], profile_id: str,
           unsubscribe_url: str,
           recommendations: Callable[..., list[dict[str, Any]]],
           coupon: Callable[..., str] | None = None,
           item: Mapping[str, Any] | None = None) -> Rendered:
    """The template for one person. ``recommendations(k, model=None)`` gives their list
    (each item with its title, price, image, link and reason); ``coupon(days=14)`` the
    person's own code for this campaign; ``item`` the catalogue item a back-in-stock or
    price-drop message is about (None otherwise).

    :class:`InvalidInput` when a part reads what this person lacks (a trait they do not
    have), or the sandbox refuses an operation; it names the part and the line."""
    context = {"traits": dict(traits), "live": dict(live or {}),
               "segments": list(segments), "profile_id": profile_id,
               "unsubscribe_url": unsubscribe_url, "recommendations": recommendations,
               "coupon": coupon or _no_coupon, "item": dict(item) if item else None}
    out: dict[str, str] = {}
    for part, source in template.parts():
        try:
            out[part] = _compiled(part, source).render(context)
        except UndefinedError as exc:
            raise _fail(part, _line(exc), f"{exc.message} for {profile_id}") from None
        except SecurityError as exc:
            raise _fail(part, _line(exc), f"refused by the sandbox: {exc}") from None
    subject = out["subject"].strip()
    if "\n" in subject or "\r" in subject:
        raise _fail("subject", None, "renders to more than one line (a header cannot)")
    return Rendered(subject, out["html"], out.get("text"))


def _line(exc: Exception) -> int | None:
    """The template line of an error raised while rendering (from its traceback)."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
