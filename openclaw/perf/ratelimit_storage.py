"""Rate-limit windows swept on the loop once a second: 0 thread hops a message, not 1 a known key.

`limits`' in-memory storage, with its clean-up of expired entries replaced through the
name-mangled `MemoryStorage.__schedule_expiry` (pinned in `pyproject.toml`, checked by
`tests/perf/test_upstream_limits.py`).
"""

import bisect
import time
from typing import Any

from limits.aio.storage import MemoryStorage


class LoopMemoryStorage(MemoryStorage):
    """`limits`' in-memory storage with its clean-up of expired entries done on the event loop,
    at most once every `SWEEP_SECONDS`. Upstream starts the clean-up after every hit and hands
    each key's search to a worker thread: a thread hop per key for every message (one a
    `chat.send` on a quiet gateway; one per known sender on a busy one). Expired entries only
    cost memory: every check compares time stamps itself, so sweeping later changes no verdict.
    """

    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        super().__init__(uri, **options)
        self._swept = 0.0

    # The upstream hook, called by `incr`, `decr` and `acquire_entry` (name-mangled there).
    async def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now - self._swept >= self.SWEEP_SECONDS:
            self._swept = now
            self.sweep()

    def sweep(self) -> None:
        """Drop expired entries and counters (synchronous: no other task runs meanwhile)."""
        now = time.time()
        for key, events in list(self.events.items()):
            # Newest first: the live entries are the ones before the first expired one.
            live = bisect.bisect_left(events, -now, key=lambda event: -event.expiry)
            if live:
                self.events[key] = events[:live]
            else:
                self._forget(key, self.events)
        for key, expires in list(self.expirations.items()):
            if expires <= now:
                self.storage.pop(key, None)
                self._forget(key, self.expirations)

    def _forget(self, key: str, table: dict[str, Any]) -> None:
        table.pop(key, None)
        lock = self.locks.get(key)
        if lock is not None and not lock.locked():
            self.locks.pop(key, None)
