"""Privacy: acts on a person that must reach everything holding them."""

from tailored.privacy.erasure import erase_everywhere

__all__ = ["erase_everywhere"]
