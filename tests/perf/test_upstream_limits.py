"""`limits` internals that `openclaw/perf/ratelimit_storage.py` replaces: the name-mangled expiry
hook every hit calls, and the storage's tables that our sweep reads, as they were."""

import asyncio
import inspect
from collections import Counter, defaultdict

from limits.aio.storage import MemoryStorage
from limits.aio.storage.memory import Entry
from limits.aio.strategies import MovingWindowRateLimiter

from gateway.ratelimit import parse_rate
from openclaw.perf.ratelimit_storage import LoopMemoryStorage
from tests.perf.upstream import fingerprint, revisit

STORAGE = "openclaw/perf/ratelimit_storage.py"
HOOK = "_MemoryStorage__schedule_expiry"


def _why(what: str) -> str:
    return revisit(STORAGE, "limits", what)


def test_the_name_mangled_hook_and_the_sweep_it_starts_are_unchanged() -> None:
    hook = getattr(MemoryStorage, HOOK, None)
    assert hook is not None and inspect.iscoroutinefunction(hook), _why(f"MemoryStorage.{HOOK}")
    assert list(inspect.signature(hook).parameters) == ["self"], _why(f"{HOOK}'s signature")
    # What ours replaces, as read in limits 5.8.0 (see tests/perf/upstream.py's fingerprint).
    assert fingerprint(hook) == "19b8c7aa6986b2f2", _why(f"the code of {HOOK}")
    expire = MemoryStorage._MemoryStorage__expire_events  # type: ignore[attr-defined]  # mangled
    assert fingerprint(expire) == "02a9fcc243e40d2a", _why("the code of __expire_events")


async def test_every_hit_goes_through_the_hook() -> None:
    calls = 0

    class Counting(MemoryStorage):
        async def _MemoryStorage__schedule_expiry(self) -> None:
            nonlocal calls
            calls += 1

    storage = Counting()
    await storage.incr("fixed", 10)
    await storage.decr("fixed")
    assert await storage.acquire_entry("moving", 5, 10)
    assert calls == 3, _why("which calls schedule the expiry (incr, decr, acquire_entry)")
    assert storage.timer is None, _why("where the clean-up task is started")


async def test_the_tables_the_sweep_reads_keep_their_shape() -> None:
    storage = LoopMemoryStorage()
    why = _why("MemoryStorage's tables (storage, expirations, events, locks)")
    assert isinstance(storage.storage, Counter) and isinstance(storage.expirations, dict), why
    assert isinstance(storage.locks, defaultdict), why
    assert isinstance(storage.locks["k"], asyncio.Lock), why
    limiter = MovingWindowRateLimiter(storage)
    for _ in range(3):
        await limiter.hit(parse_rate("5/minute"), "key")
        await asyncio.sleep(0.001)
    events = next(iter(storage.events.values()))
    assert all(isinstance(e, Entry) for e in events), why
    # The sweep's bisect assumes the newest entry first.
    assert [e.expiry for e in events] == sorted((e.expiry for e in events), reverse=True), why
