"""Hundreds of concurrent session writes, with a second writer process, never hit a lock error."""

import asyncio
import sys
import textwrap

import pytest
from channels.db import database_sync_to_async as sync_to_async  # closes connections
from django.db import connection

from agents import services
from agents.models import DailyUsage, Session
from agents.usage import record_turn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

WRITER = textwrap.dedent(
    """
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], timeout=20, isolation_level=None)
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE agents_session SET turns = turns + 1 WHERE id = (SELECT min(id) FROM agents_session)")
        db.execute("COMMIT")
    """
)


def _one_turn(i: int) -> None:
    ref, _ = services.open_session(f"agent:main:c{i % 50}")
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    record_turn(ref.pk, "gpt-fake", usage)  # type: ignore[arg-type]


async def test_hundreds_of_concurrent_writers_never_see_database_is_locked() -> None:
    await sync_to_async(services.ensure_default_agent)()
    await sync_to_async(services.open_session)("agent:main:c0")
    writer = None
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        writer = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER, name, "3")
    # Both the shared ORM thread and a real thread pool, 300 coroutines in all.
    calls = [sync_to_async(_one_turn, thread_sensitive=i % 2 == 0)(i) for i in range(300)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    if writer is not None:
        assert await asyncio.wait_for(writer.wait(), 30) == 0
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    total = await sync_to_async(lambda: sum(Session.objects.values_list("tokens_in", flat=True)))()
    assert total == 300 * 3
    daily = await sync_to_async(
        lambda: list(DailyUsage.objects.values_list("turns", "prompt_tokens"))
    )()
    assert daily == [(300, 900)]
