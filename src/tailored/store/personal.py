"""Personal data: the one place personal fields pass through on their way in and out.

E-mail, phone, name, address, birthday and IP address reach the database only through
:meth:`PersonalData.protect_*` and leave it only through :meth:`PersonalData.reveal_*`.
The codec decides what that means: :class:`PlainCodec` (the default) stores values as they
are; an encrypting or pseudonymising codec changes every personal field at once by being
passed to the store. A codec must map equal values to equal stored values for identity
kinds (look-ups by e-mail depend on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["PERSONAL_IDENTITY_KINDS", "PERSONAL_TRAITS", "PersonalCodec", "PersonalData",
           "PlainCodec", "mask_email"]

# Trait names that hold personal data, in Segment's spelling and the common variants.
PERSONAL_TRAITS = frozenset({
    "email", "phone", "name", "first_name", "firstName", "last_name", "lastName",
    "address", "street", "birthday", "ip", "username",
})
PERSONAL_IDENTITY_KINDS = frozenset({"email"})
_PERSONAL_CONTEXT = ("ip",)


class PersonalCodec(Protocol):
    """How a personal value is stored (``encode``) and read back (``decode``)."""

    def encode(self, value: Any) -> Any: ...

    def decode(self, value: Any) -> Any: ...


class PlainCodec:
    """Stores personal values as they are."""

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value


class PersonalData:
    """Applies a codec to exactly the personal fields of traits, contexts and identities."""

    def __init__(self, codec: PersonalCodec | None = None) -> None:
        self.codec = codec or PlainCodec()

    def _map_traits(self, traits: Mapping[str, Any], fn: Any) -> dict[str, Any]:
        out = dict(traits)
        for key, value in traits.items():
            # A whole value goes through the codec, an address object included.
            if key in PERSONAL_TRAITS and value is not None:
                out[key] = fn(value)
        return out

    def protect_traits(self, traits: Mapping[str, Any]) -> dict[str, Any]:
        return self._map_traits(traits, self.codec.encode)

    def reveal_traits(self, traits: Mapping[str, Any]) -> dict[str, Any]:
        return self._map_traits(traits, self.codec.decode)

    def _map_context(self, context: Mapping[str, Any], fn: Any, traits_fn: Any) -> dict[str, Any]:
        out = dict(context)
        for key in _PERSONAL_CONTEXT:
            if out.get(key) is not None:
                out[key] = fn(out[key])
        if isinstance(out.get("traits"), dict):
            out["traits"] = traits_fn(out["traits"])
        return out

    def protect_context(self, context: Mapping[str, Any]) -> dict[str, Any]:
        return self._map_context(context, self.codec.encode, self.protect_traits)

    def reveal_context(self, context: Mapping[str, Any]) -> dict[str, Any]:
        return self._map_context(context, self.codec.decode, self.reveal_traits)

    def protect_identity(self, kind: str, value: str) -> str:
        return self.codec.encode(value) if kind in PERSONAL_IDENTITY_KINDS else value

    def reveal_identity(self, kind: str, value: str) -> str:
        return self.codec.decode(value) if kind in PERSONAL_IDENTITY_KINDS else value


def mask_email(email: str) -> str:
    """An e-mail someone can recognise but not read off a screen: the first character of
    the local part, then stars, and the domain (``ann@example.com`` → ``a**@example.com``)."""
    local, at, domain = email.partition("@")
    if not at:
        return local[:1] + "*" * max(len(local) - 1, 2)
    return f"{local[:1]}{'*' * max(len(local) - 1, 2)}@{domain}"
