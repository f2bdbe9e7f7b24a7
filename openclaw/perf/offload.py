"""Per-turn blocking calls in one thread, results back in batches: 3.4 µs of CPU a hop, not 87.

`asyncio.to_thread` and Channels' `database_sync_to_async` pay a thread wake-up and a loop
wake-up for every call (the figure above: 200 calls in flight, against `database_sync_to_async`;
`bench/CHANGELOG.md`, session 6), and a turn makes four such calls. Here the thread runs
every call queued for it in one go, and the results of calls that finished while the loop was
busy go back to it in one wake-up.

One thread for the database and the files alike: asgiref's single thread, where
`database_sync_to_async` runs its calls (so one database connection, as before). A second thread
for file I/O cost more than it saved: three threads taking turns at the GIL instead of two made
every turn dearer under load (scenario b, `bench/CHANGELOG.md`). The price: a database call waiting
on a lock (another process writing SQLite, up to its busy timeout) holds up the transcript I/O
queued behind it, where it held up that turn's other database calls anyway.

That thread, and whether asgiref would pick another, come from five of its internal attributes
(`_submit`, `_asgiref_picks_another_thread`; pinned in `pyproject.toml`, checked by
`tests/perf/test_upstream_asgiref.py`).

- `database(fn, ...)`: with stale connections closed before the call and after each batch, as
  Channels does. Inside `async_to_sync` (tests, commands) or a thread-sensitive context, asgiref
  picks another thread: the call then goes through `database_sync_to_async` itself.
- `files(fn, ...)`: transcript and workspace file I/O (below `async_to_sync`, through
  `asyncio.to_thread`).

Calls run in the order made (per loop), each in a copy of the caller's context
(`openclaw.logging.log_context` holds there). A call whose caller was cancelled still runs to
its end, as with `asyncio.to_thread`: only its result is dropped.
"""

import asyncio
import contextlib
import contextvars
import functools
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, cast
from weakref import WeakKeyDictionary

from asgiref.sync import AsyncToSync, SyncToAsync
from channels.db import database_sync_to_async
from django.db import close_old_connections

_Done = tuple["asyncio.Future[Any]", Any, BaseException | None]


class _Batches:
    """The calls of one event loop to the thread: queued on the loop, run by a drain job in the
    thread, results delivered on the loop by as few callbacks as the loop's pace allows."""

    def __init__(self, loop: asyncio.AbstractEventLoop, executor: Executor) -> None:
        self.loop, self.executor = loop, executor
        self.lock = threading.Lock()
        self.queue: deque[
            tuple[asyncio.Future[Any], contextvars.Context, Callable[[], Any], bool]
        ] = deque()
        self.draining = False  # a drain job is queued or running in the thread
        self.done: list[_Done] = []
        self.delivering = False  # a delivery callback is scheduled on the loop

    def call(self, call: Callable[[], Any], *, database: bool) -> "asyncio.Future[Any]":
        future = self.loop.create_future()
        item = (future, contextvars.copy_context(), call, database)
        with self.lock:
            self.queue.append(item)
            start, self.draining = not self.draining, True
        if start:
            try:
                self.executor.submit(self._drain)
            except BaseException:  # the executor is shut down (interpreter exit)
                with self.lock:
                    self.queue.remove(item)
                    self.draining = False  # no drain job was started: the next call starts one
                raise
        return future

    def _drain(self) -> None:
        """In the thread: run what is queued, until nothing is."""
        used_database = False
        while True:
            with self.lock:
                if not self.queue:
                    self.draining = False
                    break
                future, context, call, database = self.queue.popleft()
            error: BaseException | None = None
            result: Any = None
            try:
                if database:
                    used_database = True
                    close_old_connections()  # as Channels does around each call
                result = context.run(call)
            except BaseException as exc:  # handed to the caller, like asyncio.to_thread
                error = exc
            self._finished((future, result, error))
        if used_database:
            close_old_connections()

    def _finished(self, done: _Done) -> None:
        with self.lock:
            self.done.append(done)
            schedule, self.delivering = not self.delivering, True
        if schedule:
            # A closed loop raises RuntimeError: no one is waiting any more.
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        """On the loop: hand every finished call its result."""
        with self.lock:
            done, self.done = self.done, []
            self.delivering = False
        for future, result, error in done:
            if future.cancelled():
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(error)


# Per event loop (tests and commands run several in turn; the gateway has one).
_batches: WeakKeyDictionary[asyncio.AbstractEventLoop, _Batches] = WeakKeyDictionary()


def _submit(call: Callable[[], Any], *, database: bool) -> "asyncio.Future[Any]":
    loop = asyncio.get_running_loop()
    batches = _batches.get(loop)
    if batches is None:
        batches = _batches[loop] = _Batches(loop, SyncToAsync.single_thread_executor)
    return batches.call(call, database=database)


def _asgiref_picks_another_thread() -> bool:
    """True where `database_sync_to_async` would not use asgiref's single thread (see
    `SyncToAsync.__call__`): below an `async_to_sync`, in a thread-sensitive context (Django's
    request handling), or inside a call already running in that thread."""
    loop = asyncio.get_running_loop()
    return bool(
        getattr(AsyncToSync.executors, "current", None)
        or SyncToAsync.thread_sensitive_context.get(None)
        or loop in AsyncToSync.loop_thread_executors
        or SyncToAsync.deadlock_context.get(False)
    )


def database[**P, R](fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
    """`fn(*args, **kwargs)` in the database thread (see the module's docstring), queued now;
    await the result. (A future, not a coroutine: `asyncio.ensure_future` needs no task.)"""
    call = functools.partial(fn, *args, **kwargs)
    if _asgiref_picks_another_thread():
        return cast("Awaitable[R]", database_sync_to_async(call)())
    return cast("Awaitable[R]", _submit(call, database=True))


def files[**P, R](fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
    """`fn(*args, **kwargs)` in the I/O thread (see the module's docstring), queued now; await
    the result. Where asgiref would not use that thread (below `async_to_sync`, where it may be
    the one waiting), through `asyncio.to_thread` instead."""
    call = functools.partial(fn, *args, **kwargs)
    if _asgiref_picks_another_thread():
        return cast("Awaitable[R]", asyncio.to_thread(call))
    return cast("Awaitable[R]", _submit(call, database=False))
