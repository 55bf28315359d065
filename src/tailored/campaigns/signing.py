"""Signed tokens for the links in messages (unsubscribe now; opens and clicks next).

A token says who and what (a profile id, a channel, a campaign) and when it was made,
signed with the store's key (``TAILORED_SECRET_KEY``, else one generated the first time and
kept in the store's ``store_secrets``): a forged or altered token is refused, and an expired
one too. itsdangerous does the signing (HMAC, with SHA-256 asked for), the comparison in
constant time and the URL-safe encoding.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tailored.errors import InvalidInput
from tailored.store.secrets import kept_secret

if TYPE_CHECKING:
    from tailored.config import Settings
    from tailored.store import Store

__all__ = ["DEFAULT_PUBLIC_URL", "Signer", "signing_key"]

#: Where links point when ``public_url`` is not set: this machine, for previews.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
_KEY_NAME = "signing_key"


def signing_key(store: Store, settings: Settings) -> str:
    """The key links are signed with: the setting, else the store's own (made once)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    return kept_secret(store, _KEY_NAME, lambda: secrets.token_urlsafe(48))


class Signer:
    """Makes and reads the signed tokens of one purpose ("unsubscribe", "click", ...)."""

    def __init__(self, key: str, purpose: str) -> None:
        self.purpose = purpose
        self._serializer = URLSafeTimedSerializer(
            key, salt=f"tailored.{purpose}",
            signer_kwargs={"digest_method": hashlib.sha256})

    def sign(self, payload: dict[str, Any]) -> str:
        return str(self._serializer.dumps(payload))

    def read(self, token: str, *, max_age_seconds: int | None = None) -> dict[str, Any]:
        """The payload of a token this signer made; :class:`InvalidInput` for a forged,
        altered or (with ``max_age_seconds``) expired one."""
        try:
            payload = self._serializer.loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            raise InvalidInput(f"the {self.purpose} link has expired",
                               field="token") from None
        except BadSignature:
            raise InvalidInput(f"the {self.purpose} link is not valid (altered or not ours)",
                               field="token") from None
        if not isinstance(payload, dict):
            raise InvalidInput(f"the {self.purpose} link is not valid", field="token")
        return payload
