"""Message templates kept in the store (``message_templates``), checked before they are."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tailored.campaigns.templates import MessageTemplate
from tailored.errors import NotFound
from tailored.store.tables import message_templates
from tailored.store.writes import upsert

if TYPE_CHECKING:
    from tailored.store import Store

__all__ = ["get_template", "list_templates", "save_template"]


def save_template(store: Store, template: MessageTemplate) -> dict[str, Any]:
    """Keep a checked template (replacing one of that name): ``{"template", "created",
    "parts"}``."""
    now = datetime.now(UTC)
    with store.transaction() as conn:
        created_at = conn.scalar(sa.select(message_templates.c.created_at)
                                 .where(message_templates.c.name == template.name))
        upsert(conn, message_templates, [{
            "name": template.name, "subject": template.subject, "html": template.html,
            "text": template.text, "created_at": created_at or now, "updated_at": now,
        }], ["name"])
    return {"template": template.name, "created": created_at is None,
            "parts": [part for part, _ in template.parts()]}


def get_template(store: Store, name: str) -> MessageTemplate:
    """The template ``name``; :class:`NotFound` naming close ones."""
    with store.reading() as conn:
        row = conn.execute(sa.select(message_templates)
                           .where(message_templates.c.name == name)).first()
        if row is None:
            names = list(conn.scalars(sa.select(message_templates.c.name)))
    if row is None:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise NotFound(f"no template {name!r}{hint} (`tailored template list` shows them)")
    return MessageTemplate(row.name, subject=row.subject, html=row.html, text=row.text)


def list_templates(store: Store) -> list[dict[str, Any]]:
    with store.reading() as conn:
        rows = conn.execute(sa.select(message_templates)
                            .order_by(message_templates.c.name)).all()
    return [{"template": r.name, "subject": r.subject, "text": r.text is not None,
             "created_at": r.created_at.isoformat(), "updated_at": r.updated_at.isoformat()}
            for r in rows]
