"""Tailored's errors: one root class, each error carrying its HTTP status.

Hierarchy::

    TailoredError                      (500)
    ├── InvalidInput(ValueError)       (400)  input that cannot be accepted
    │   ├── NothingAccepted            (400)  a batch none of whose events was valid
    │   └── PayloadTooLarge            (413)  over Segment's size limits
    ├── NotFound(LookupError)          (404)  no such profile, identity or item
    ├── AmbiguousPerson(LookupError)   (409)  one string names several people
    ├── NotFittedError(ValueError, AttributeError) (409) a model used before fit
    ├── CatalogChanged                 (409)  a model trained on another catalogue version
    ├── MissingExtra(ImportError)      (501)  an optional extra is not installed
    ├── Unauthorized(PermissionError)  (401)  a missing or wrong key
    │   └── Forbidden                  (403)  a key without the scope needed
    └── StoreUnavailable(ConnectionError) (503) the database cannot be reached or opened

The API turns these into responses in one handler and the CLI into one-line messages, so
code below them raises domain errors, never HTTP or CLI ones.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousPerson",
    "CatalogChanged",
    "Forbidden",
    "InvalidInput",
    "MissingExtra",
    "NotFittedError",
    "NotFound",
    "NothingAccepted",
    "PayloadTooLarge",
    "StoreUnavailable",
    "TailoredError",
    "Unauthorized",
]


class TailoredError(Exception):
    """Root of every error Tailored raises on purpose."""

    status: int = 500


class InvalidInput(TailoredError, ValueError):
    """Input that cannot be accepted; ``field`` names the part that is wrong."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NothingAccepted(InvalidInput):
    """No event of a request was valid; ``rejected`` says why, event by event."""

    def __init__(self, message: str, rejected: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.rejected = rejected


class PayloadTooLarge(InvalidInput):
    status = 413


class NotFound(TailoredError, LookupError):
    status = 404


class AmbiguousPerson(TailoredError, LookupError):
    """A string that several profiles hold, where acting on the wrong one does harm (erasure,
    export): ``matches`` lists each profile and the kind of id that matched it."""

    status = 409

    def __init__(self, message: str, matches: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.matches = matches


class CatalogChanged(TailoredError):
    """The catalogue changed since the model was trained: it must be retrained."""

    status = 409


class NotFittedError(TailoredError, ValueError, AttributeError):
    """A model asked to predict before it was fitted (as scikit-learn's)."""

    status = 409


class MissingExtra(TailoredError, ImportError):
    """A command needs an optional extra that is not installed; the message says which
    one to install."""

    status = 501

    def __init__(self, module: str, extra: str, purpose: str = "",
                 *, cause: BaseException | None = None) -> None:
        why = f"{purpose} needs" if purpose else "this needs"
        missing = getattr(cause, "name", None) or module
        # The module itself or a package above it is absent: say so plainly. Anything else
        # (one of its own dependencies is absent or broken): show the import error too.
        state = (f"{missing} is not installed" if (module + ".").startswith(missing + ".")
                 else f"{module} cannot be imported: {cause}")
        super().__init__(f"{why} the {extra!r} extra ({state}): "
                         f"pip install 'tailored[{extra}]'", name=module)
        self.module = module
        self.extra = extra


class Unauthorized(TailoredError, PermissionError):
    status = 401


class Forbidden(Unauthorized):
    status = 403


class StoreUnavailable(TailoredError, ConnectionError):
    status = 503
