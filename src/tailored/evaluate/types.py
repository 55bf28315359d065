"""The shapes that the metrics take, named once.

Two forms of the same thing; every ranking metric accepts both:

* mappings, for readability and for ids of any hashable type: ``recommended`` maps a user to
  a ranked sequence of items (best first), ``relevant`` maps a user to the items held out
  for them;
* arrays, for large runs (millions of test interactions) where building dictionaries is
  the slow part: ``recommended`` is an integer array of shape ``(n_users, length)`` of
  item indices, best first, padded with ``-1``; ``relevant`` is a SciPy sparse matrix of
  shape ``(n_users, n_items)`` whose non-zero entries are the relevant items. Row ``u`` of
  one is row ``u`` of the other.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import TypeAlias

import numpy as np
import scipy.sparse as sp

__all__ = ["PAD", "Recommended", "Relevant"]

# Fills the end of a row of item indices that is shorter than the others.
PAD = -1

Recommended: TypeAlias = Mapping[Hashable, Sequence[Hashable]] | np.ndarray
Relevant: TypeAlias = Mapping[Hashable, Collection[Hashable]] | sp.sparray | sp.spmatrix
