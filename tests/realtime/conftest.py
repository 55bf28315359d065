"""The real-server fixture of the API tests, for the real-time tests that need one."""

from tests.api.conftest import serve

__all__ = ["serve"]
