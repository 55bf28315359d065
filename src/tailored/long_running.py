"""What a long-running process (``tailored serve``, ``tailored worker``) does once started."""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Move what start-up made (modules, the app, settings: some 300,000 objects) out of
    the garbage collector's sight.

    A full collection walks every tracked object while holding the GIL: 50-150 ms stalls
    every few seconds under load, which were the tail of every request's and every
    real-time update's latency (benchmarks/realtime.py). Objects made later are collected
    as usual."""
    gc.collect()
    gc.freeze()
