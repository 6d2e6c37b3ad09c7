"""The one best-of-N timer used by every timing helper (chapters 1 and 8)."""

from __future__ import annotations

import time

from mcdrop import _checks


def best_time(fn, repeats: int, warm_up: bool = True, clock=time.perf_counter) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn()`` on ``clock`` (wall time by default;
    ``time.process_time`` for CPU time), after one untimed warm-up call unless ``warm_up`` is False
    (for calls too slow to repeat)."""
    repeats = _checks.positive_int("repeats", repeats)
    if warm_up:
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best
