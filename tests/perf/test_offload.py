"""`openclaw.perf.offload`: blocking calls run off the loop, in order, each with its own result or
error, in the thread `database_sync_to_async` would use, and none lost under load."""

import asyncio
import contextvars
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import connection

from agents.models import Agent
from openclaw.perf import offload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def _thread() -> int:
    return threading.get_ident()


async def test_database_calls_run_in_the_thread_database_sync_to_async_uses() -> None:
    ours = await offload.database(_thread)
    channels = await database_sync_to_async(_thread)()
    assert ours == channels != threading.get_ident()
    count = await database_sync_to_async(Agent.objects.count)()
    assert await offload.database(Agent.objects.count) == count  # the ORM works there


def test_below_async_to_sync_the_database_call_runs_where_asgiref_puts_it() -> None:
    """A test (or command) holding a transaction in this thread: the call must see it."""

    async def both() -> tuple[int, int]:
        return await offload.database(_thread), await database_sync_to_async(_thread)()

    ours, channels = async_to_sync(both)()
    assert ours == channels == threading.get_ident()


async def test_files_share_the_database_thread() -> None:
    """One worker thread: a second one for files made every turn dearer (bench/README.md)."""
    assert await offload.files(_thread) == await offload.database(_thread)


def test_below_async_to_sync_files_do_not_wait_on_the_database_thread() -> None:
    async def both() -> tuple[int, int]:
        return await offload.files(_thread), await offload.database(_thread)

    files, database = async_to_sync(both)()
    assert database == threading.get_ident() != files


@pytest.mark.parametrize("offloaded", [offload.database, offload.files])
async def test_results_errors_and_order_under_load(offloaded) -> None:  # type: ignore[no-untyped-def]
    ran: list[int] = []

    def work(i: int) -> int:
        ran.append(i)
        if i % 7 == 0:
            raise ValueError(i)
        return i * 2

    outcomes = await asyncio.gather(
        *(offloaded(work, i) for i in range(500)), return_exceptions=True
    )
    assert ran == list(range(500))  # in the order made
    for i, outcome in enumerate(outcomes):
        if i % 7 == 0:
            assert isinstance(outcome, ValueError) and outcome.args == (i,)
        else:
            assert outcome == i * 2


async def test_calls_made_while_the_thread_drains_are_not_lost() -> None:
    """Calls arriving just as the thread finds its queue empty (the race of the drain flag)."""
    for _ in range(200):
        first = offload.files(time.sleep, 0)
        await asyncio.sleep(0)
        second = offload.files(lambda: "second")
        assert (await asyncio.wait_for(asyncio.gather(first, second), 5))[1] == "second"


async def test_the_callers_context_is_visible_in_the_thread() -> None:
    request_id.set("run-1")
    assert await offload.database(request_id.get) == "run-1"
    assert await offload.files(request_id.get) == "run-1"


async def test_a_cancelled_caller_still_lets_the_call_finish() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(5)
        finished.set()
        return "done"

    task = asyncio.ensure_future(offload.files(slow))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    assert await offload.files(lambda: finished.is_set()) is True  # ran to its end, in order


async def test_stale_connections_are_closed_before_a_call() -> None:
    def current() -> object:  # the DB-API connection itself: kept alive, compared by identity
        connection.ensure_connection()
        return connection.connection

    def age_out() -> None:
        connection.close_at = time.monotonic() - 1  # as CONN_MAX_AGE would

    first = await offload.database(current)
    assert await offload.database(current) is first  # kept between calls
    await offload.database(age_out)
    assert await offload.database(current) is not first
