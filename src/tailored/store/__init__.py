"""The operational store: SQLite or PostgreSQL behind one interface."""

from tailored.store.personal import PersonalCodec, PersonalData, PlainCodec
from tailored.store.store import SCOPES, Scope, Store

__all__ = ["SCOPES", "PersonalCodec", "PersonalData", "PlainCodec", "Scope", "Store"]
