"""Blocking calls of the per-turn path, run off the event loop with their results returned in
batches.

`asyncio.to_thread` and Channels' `database_sync_to_async` pay a thread wake-up and a loop
wake-up for every call (30 and 87 µs of CPU a call with 200 calls in flight, 83 and 150 µs one at
a time; `bench/README.md`, "Optimisations"), and a turn makes four such calls. Here each thread
runs every call queued for it in one go, and the results of calls that finished while the loop
was busy go back to it in one wake-up: a few µs a call under load.

- `database(fn, ...)`: in the thread where `database_sync_to_async` runs it (asgiref's single
  thread, so one database connection as before), with stale connections closed before each
  call and after each batch as Channels does. Inside `async_to_sync` (tests, commands) or a
  thread-sensitive context, asgiref picks another thread: the call then goes through
  `database_sync_to_async` itself.
- `files(fn, ...)`: transcript and workspace file I/O, in a thread of its own.

Calls run in the order made (per loop and thread), each in a copy of the caller's context
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
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, cast
from weakref import WeakKeyDictionary

from asgiref.sync import AsyncToSync, SyncToAsync
from channels.db import database_sync_to_async
from django.db import close_old_connections

_Done = tuple["asyncio.Future[Any]", Any, BaseException | None]


class _Batches:
    """The calls of one event loop to one thread: queued on the loop, run by a drain job in the
    thread, results delivered on the loop by as few callbacks as the loop's pace allows."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        executor: Executor,
        before: Callable[[], None] | None,
        after: Callable[[], None] | None,
    ) -> None:
        self.loop, self.executor, self.before, self.after = loop, executor, before, after
        self.lock = threading.Lock()
        self.queue: deque[tuple[asyncio.Future[Any], contextvars.Context, Callable[[], Any]]] = (
            deque()
        )
        self.draining = False  # a drain job is queued or running in the thread
        self.done: list[_Done] = []
        self.delivering = False  # a delivery callback is scheduled on the loop

    def call(self, call: Callable[[], Any]) -> "asyncio.Future[Any]":
        future = self.loop.create_future()
        item = (future, contextvars.copy_context(), call)
        with self.lock:
            self.queue.append(item)
            start, self.draining = not self.draining, True
        if start:
            try:
                self.executor.submit(self._drain)
            except BaseException:  # the executor is shut down (interpreter exit)
                with self.lock:
                    self.queue.remove(item)
                    self.draining = bool(self.queue)
                raise
        return future

    def _drain(self) -> None:
        """In the thread: run what is queued, until nothing is."""
        while True:
            with self.lock:
                if not self.queue:
                    self.draining = False
                    break
                future, context, call = self.queue.popleft()
            error: BaseException | None = None
            result: Any = None
            try:
                if self.before is not None:
                    self.before()
                result = context.run(call)
            except BaseException as exc:  # handed to the caller, like asyncio.to_thread
                error = exc
            self._finished((future, result, error))
        if self.after is not None:
            self.after()

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


class _Offload:
    def __init__(
        self,
        executor: Callable[[], Executor],
        *,
        before: Callable[[], None] | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        self._executor, self._before, self._after = executor, before, after
        self._batches: WeakKeyDictionary[asyncio.AbstractEventLoop, _Batches] = WeakKeyDictionary()

    def submit(self, call: Callable[[], Any]) -> "asyncio.Future[Any]":
        loop = asyncio.get_running_loop()
        batches = self._batches.get(loop)
        if batches is None:
            batches = _Batches(loop, self._executor(), self._before, self._after)
            self._batches[loop] = batches
        return batches.call(call)


def _close_old_connections() -> None:
    close_old_connections()


_database = _Offload(
    lambda: SyncToAsync.single_thread_executor,
    before=_close_old_connections,
    after=_close_old_connections,
)
_files_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openclaw-files")
_files = _Offload(lambda: _files_executor)


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
    return cast("Awaitable[R]", _database.submit(call))


def files[**P, R](fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
    """`fn(*args, **kwargs)` in the file I/O thread (see the module's docstring), queued now;
    await the result."""
    return cast("Awaitable[R]", _files.submit(functools.partial(fn, *args, **kwargs)))
