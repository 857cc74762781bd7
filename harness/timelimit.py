"""A per-claim time limit: a claim that runs too long ends as an ``error`` verdict.

SIGALRM interrupts Python code (a config with 10**9 layers spins in Python); it works in the
main thread of a POSIX process, which is where pytest and xdist workers run tests. Elsewhere
there is no limit, and the artifact's reason never claims one.
"""

from __future__ import annotations

import contextlib
import signal
import threading

from harness.errors import HarnessError


class ClaimTimeout(HarnessError):
    """The claim went over its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def _alarm(signum, frame):
        raise ClaimTimeout(f"time limit of {seconds:g} s per claim exceeded (--claims-timeout)")

    previous = signal.signal(signal.SIGALRM, _alarm)
    # Fires again every second (or sooner) until the block ends: one alarm can be lost (raised
    # inside a weakref callback during garbage collection, Python only prints it as unraisable).
    signal.setitimer(signal.ITIMER_REAL, seconds, min(seconds, 1.0))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
