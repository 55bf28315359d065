"""The VAPID key pair web push is signed with (RFC 8292), and the contact it names.

A browser subscribes with our public key (the page passes it to
``pushManager.subscribe({applicationServerKey})``) and its push service then accepts only
messages signed with the matching private key, so the key must outlive every subscription:
``TAILORED_VAPID_PRIVATE_KEY`` when set, else a P-256 key generated the first time it is
needed and kept in the store's ``store_secrets`` (as the link-signing key is). The private
key is never printed, logged or answered; only :func:`application_server_key` leaves.
"""

from __future__ import annotations

import base64
from email.utils import parseaddr
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from tailored.errors import InvalidInput
from tailored.store.secrets import kept_secret

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["application_server_key", "vapid_key", "vapid_subject"]

_KEY_NAME = "vapid_private_key"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _parse(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM, or the base64url raw (32 bytes) or DER form."""
    try:
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Vapid.from_string(text.strip()).private_key
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    # Never the value in the message: it is the secret.
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve,
                                                                         ec.SECP256R1):
        raise InvalidInput("vapid_private_key is not a P-256 (prime256v1) private key: give "
                           "it as PEM or as the base64url raw key (e.g. from `vapid --gen`)",
                           field="vapid_private_key")
    return key


def _stored_key(store: Store) -> str:
    def make() -> str:
        key = ec.generate_private_key(ec.SECP256R1())
        return _b64url(key.private_numbers().private_value.to_bytes(32, "big"))

    return kept_secret(store, _KEY_NAME, make)


def vapid_key(store: Store, settings: Settings) -> Vapid:
    """The signing key: the setting, else the store's own (made once)."""
    if settings.vapid_private_key is not None:
        text = settings.vapid_private_key.get_secret_value()
    else:
        text = _stored_key(store)
    # Not strict: vapid_subject checks the subject itself (py_vapid's check refuses an https
    # URL with a path, which RFC 8292 allows).
    return Vapid(_parse(text), conf={"no-strict": True})


def application_server_key(store: Store, settings: Settings) -> str:
    """The public key as ``applicationServerKey`` takes it: the uncompressed P-256 point
    (65 bytes, 0x04 first), base64url without padding."""
    point = vapid_key(store, settings).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(point)


def vapid_subject(settings: Settings) -> str:
    """The ``sub`` claim: whom a push service contacts about our messages."""
    value = (settings.vapid_subject or "").strip()
    if not value:
        address = parseaddr(settings.mail_from or "")[1]
        if "@" not in address:
            raise InvalidInput("web push needs a contact for push services: set "
                               "TAILORED_VAPID_SUBJECT (mailto:ops@shop.example or "
                               "https://shop.example) or TAILORED_MAIL_FROM",
                               field="vapid_subject")
        return f"mailto:{address}"
    parts = urlsplit(value)
    if parts.scheme == "mailto" and "@" in parts.path.strip("@"):
        return value
    if parts.scheme == "https" and parts.hostname:
        return value
    raise InvalidInput(f"vapid_subject must be a mailto: or https: URL "
                       f"(mailto:ops@shop.example), got {value!r}", field="vapid_subject")
