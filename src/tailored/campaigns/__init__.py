"""Reaching customers: message templates (more of issue 12 lands here: campaigns, the
outbox, consent, caps and quiet hours, experiments)."""

from tailored.campaigns.templates import CONTEXT_NAMES, MessageTemplate, Rendered, render

__all__ = ["CONTEXT_NAMES", "MessageTemplate", "Rendered", "render"]
