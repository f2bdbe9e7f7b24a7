"""asgiref internals `openclaw/perf/offload.py` relies on: the five attributes it reads still exist,
and still tell where `database_sync_to_async` runs a call."""

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import (
    AsyncToSync,
    SyncToAsync,
    ThreadSensitiveContext,
    async_to_sync,
    sync_to_async,
)

from openclaw.perf import offload
from tests.perf.upstream import revisit

OFFLOAD = "openclaw/perf/offload.py"


def _why(what: str) -> str:
    return revisit(OFFLOAD, "asgiref", what)


def _ident() -> int:
    return threading.get_ident()


def _single_thread() -> int:
    """The thread of asgiref's single-thread executor, where offload queues its calls."""
    return SyncToAsync.single_thread_executor.submit(_ident).result()


def test_the_five_attributes_offload_reads_exist_with_their_types() -> None:
    executor = getattr(SyncToAsync, "single_thread_executor", None)
    assert isinstance(executor, ThreadPoolExecutor), _why("SyncToAsync.single_thread_executor")
    assert executor._max_workers == 1, _why("the single-thread executor's worker count")
    assert hasattr(AsyncToSync, "executors"), _why("AsyncToSync.executors")
    assert getattr(AsyncToSync.executors, "current", None) is None, _why("executors.current")
    loops = getattr(AsyncToSync, "loop_thread_executors", None)
    assert isinstance(loops, dict), _why("AsyncToSync.loop_thread_executors")
    for name in ("thread_sensitive_context", "deadlock_context"):
        var = getattr(SyncToAsync, name, None)
        assert isinstance(var, contextvars.ContextVar), _why(f"SyncToAsync.{name}")


async def _probe() -> tuple[bool, int]:
    """What offload thinks asgiref would do, and where asgiref ran the call (`sync_to_async`
    picks its thread as `database_sync_to_async`, its subclass, does; no database needed)."""
    return offload._asgiref_picks_another_thread(), await sync_to_async(_ident)()


async def test_at_top_level_database_calls_run_in_the_single_thread() -> None:
    another, ran_in = await _probe()
    assert not another and ran_in == _single_thread(), _why("where a top-level call runs")
    assert not SyncToAsync.deadlock_context.get(False), _why("deadlock_context after a call")


async def test_in_a_thread_sensitive_context_they_run_elsewhere_and_offload_knows() -> None:
    async with ThreadSensitiveContext():  # as Django's request handling does
        another, ran_in = await _probe()
    assert another, _why("thread_sensitive_context (offload no longer sees it)")
    assert ran_in != _single_thread(), _why("where a thread-sensitive context's calls run")


def test_below_async_to_sync_they_run_in_the_calling_thread_and_offload_knows() -> None:
    another, ran_in = async_to_sync(_probe)()  # as in a test or a management command
    assert another, _why("AsyncToSync.executors / loop_thread_executors (offload misses them)")
    assert ran_in == threading.get_ident() != _single_thread(), _why("async_to_sync's thread")


def test_below_async_to_sync_its_loop_is_registered_in_loop_thread_executors() -> None:
    """Offload checks the loop there too: tasks of that loop may not see `executors.current`."""

    async def registered() -> bool:
        return asyncio.get_running_loop() in AsyncToSync.loop_thread_executors

    assert async_to_sync(registered)(), _why("AsyncToSync.loop_thread_executors")


async def test_a_set_deadlock_flag_still_means_the_single_thread_is_in_use() -> None:
    def flagged() -> bool:
        SyncToAsync.deadlock_context.set(True)
        return offload._asgiref_picks_another_thread()

    context = contextvars.copy_context()
    assert context.run(flagged), _why("deadlock_context (offload no longer reads it)")
    refused: RuntimeError | None = None
    try:
        await asyncio.create_task(sync_to_async(_ident)(), context=context)
    except RuntimeError as exc:
        refused = exc
    assert refused is not None and "deadlock" in str(refused), _why("deadlock_context's meaning")
