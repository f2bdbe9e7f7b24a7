"""Process memory of what failed recently (models, provider keys): each failure in a row doubles
the time it is passed over, up to a cap; a success forgets it. Not shared between processes."""

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

BASE_SECONDS = 30.0
CAP_SECONDS = 600.0


@dataclass(slots=True)
class _Cooling:
    until: float
    failures: int


class Cooldowns:
    """Cooldowns by key. Sync and non-blocking: safe to call from the event loop."""

    def __init__(
        self,
        base: float = BASE_SECONDS,
        cap: float = CAP_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base, self.cap, self.clock = base, cap, clock
        self._cooling: dict[Hashable, _Cooling] = {}

    def fail(self, key: Hashable, at_least: float | None = None) -> float:
        """Record a failure; returns how long `key` is now passed over, in seconds (twice the
        last time, from `base` to `cap`; at least `at_least`, a provider's Retry-After)."""
        known = self._cooling.get(key)
        failures = known.failures + 1 if known else 1
        seconds = min(self.base * 2.0 ** (failures - 1), self.cap)
        seconds = max(seconds, min(at_least or 0.0, self.cap))
        self._cooling[key] = _Cooling(self.clock() + seconds, failures)
        return seconds

    def succeed(self, key: Hashable) -> None:
        self._cooling.pop(key, None)

    def until(self, key: Hashable) -> float | None:
        """When `key`'s cooldown ends (on `clock`), or None when it is not cooling down. An ended
        cooldown keeps its failure count, so the next failure waits twice as long."""
        known = self._cooling.get(key)
        return known.until if known and known.until > self.clock() else None

    def order[K: Hashable](self, keys: Iterable[K]) -> list[K]:
        """`keys` not cooling down first (in their order), then the cooling ones, soonest free
        first."""
        listed = list(keys)
        ready = [key for key in listed if self.until(key) is None]
        cooling = sorted(
            (key for key in listed if self.until(key) is not None),
            key=lambda key: self.until(key) or 0.0,
        )
        return ready + cooling

    def clear(self) -> None:
        self._cooling.clear()

    def snapshot(self) -> dict[Hashable, float]:
        """Seconds left per key still cooling down (for status output)."""
        now = self.clock()
        return {k: c.until - now for k, c in self._cooling.items() if c.until > now}
