"""A single-threaded event loop over ``selectors``: readers, one-shot timers, a stop flag.

The fake VM (consoles, manager socket, signal wake-up fd, tap hooks) registers file descriptors
here; the guest schedules its boot and shell work with ``call_later``. Nothing runs in threads.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import selectors
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class Timer:
    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Reactor:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self._stopped = False

    # -- readers ---------------------------------------------------------------------------

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        try:
            self._selector.register(fd, selectors.EVENT_READ, callback)
        except KeyError:
            self._selector.modify(fd, selectors.EVENT_READ, callback)

    def remove_reader(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(fd)

    # -- timers ----------------------------------------------------------------------------

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + max(delay, 0.0), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    # -- running ---------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped

    def run(self) -> None:
        """Dispatch until ``stop()``."""
        while not self._stopped:
            self._run_due_timers()
            if self._stopped:
                break
            timeout: float | None = None
            if self._timers:
                timeout = max(self._timers[0].when - time.monotonic(), 0.0)
            for key, _mask in self._selector.select(timeout):
                callback = key.data
                callback()
                if self._stopped:
                    break

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0].when <= now and not self._stopped:
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.callback()

    def close(self) -> None:
        self._selector.close()
        self._timers.clear()
