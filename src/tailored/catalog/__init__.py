"""The catalog of items and the social graph between people."""

from tailored.catalog.model import Edge, Item

__all__ = ["Edge", "Item"]
