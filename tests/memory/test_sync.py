"""Files and rows stay equal: disk edits are picked up, writes go to both, stale writes are
refused as conflicts, deleted files are shown as missing."""

import asyncio
import datetime as dt
import os
import threading
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from agents.models import Agent
from memory import files, fts, services
from memory.models import DailyLog, MemoryChunk, MemoryRevision, WorkingMemory
from memory.sync import MemoryConflict, doc_hash, sync_agent, sync_all, watch_memory

pytestmark = pytest.mark.services
DAY = dt.date(2024, 6, 1)


def _hits(agent: Agent, query: str) -> list[str]:
    return [h.path for h in services.search_memory(agent, query).hits]


def _bump_mtime(path: Path) -> None:
    """Make sure the cheap mtime/size check sees a same-size rewrite within one clock tick."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


@pytest.mark.django_db
def test_edit_on_disk_updates_row_and_search(agent: Agent) -> None:
    log = agent.workspace / "memory" / "2024-06-01.md"
    log.write_text("# 2024-06-01\n\nBought a red kayak.\n")
    assert sync_agent(agent).changed == ["memory/2024-06-01.md"]
    assert _hits(agent, "kayak") == ["memory/2024-06-01.md"]

    log.write_text("# 2024-06-01\n\nBought a green canoe.\n")
    _bump_mtime(log)
    report = sync_agent(agent)
    assert report.changed == ["memory/2024-06-01.md"]
    row = DailyLog.objects.get(agent=agent, date=DAY)
    assert row.content == log.read_text()
    assert row.content_hash == files.content_hash(log.read_text())
    assert row.updated_by == "disk"
    assert _hits(agent, "kayak") == []
    assert _hits(agent, "canoe") == ["memory/2024-06-01.md"]
    revision = MemoryRevision.objects.get(agent=agent, path="memory/2024-06-01.md")
    assert "red kayak" in revision.content


@pytest.mark.django_db
def test_unchanged_files_are_not_reread(agent: Agent) -> None:
    (agent.workspace / "MEMORY.md").write_text("# Memory\n")
    for day in range(1, 31):
        (agent.workspace / "memory" / f"2024-06-{day:02d}.md").write_text(f"day {day}\n")
    assert len(sync_agent(agent).changed) == 31
    report = sync_agent(agent)
    assert report.changed == []
    assert report.unchanged == 31


@pytest.mark.django_db
def test_touch_without_change_keeps_version(agent: Agent) -> None:
    memory = agent.workspace / "MEMORY.md"
    memory.write_text("# Memory\n")
    sync_agent(agent)
    _bump_mtime(memory)
    assert sync_agent(agent).changed == []
    assert WorkingMemory.objects.get(agent=agent).mtime_ns == memory.stat().st_mtime_ns
    assert not MemoryRevision.objects.exists()


@pytest.mark.django_db
def test_file_deleted_on_disk_is_shown_missing_not_recreated(agent: Agent) -> None:
    (agent.workspace / "MEMORY.md").write_text("# Memory\n")
    log = agent.workspace / "memory" / "2024-06-01.md"
    log.write_text("Met Ana at the harbour.\n")
    sync_agent(agent)
    log.unlink()
    report = sync_agent(agent)
    assert report.changed == ["memory/2024-06-01.md"]
    assert report.missing == ["memory/2024-06-01.md"]
    row = DailyLog.objects.get(agent=agent, date=DAY)
    assert row.missing
    assert row.content == "Met Ana at the harbour.\n"  # kept, not dropped
    assert not log.exists()  # not recreated
    assert _hits(agent, "harbour") == []
    assert sync_agent(agent).missing == ["memory/2024-06-01.md"]
    assert not log.exists()


@pytest.mark.django_db
def test_writing_a_missing_file_again_keeps_its_last_content_as_revision(agent: Agent) -> None:
    log = agent.workspace / "memory" / "2024-06-01.md"
    log.write_text("old notes\n")
    sync_agent(agent)
    log.unlink()
    sync_agent(agent)
    row = DailyLog.objects.get(agent=agent, date=DAY)
    assert doc_hash(row) == files.EMPTY_HASH
    services.write_daily_log(agent, DAY, "new notes\n", files.EMPTY_HASH, "admin:root")
    assert log.read_text() == "new notes\n"
    assert MemoryRevision.objects.get(path="memory/2024-06-01.md").content == "old notes\n"


@pytest.mark.django_db
def test_stale_write_is_refused_with_a_clear_conflict(agent: Agent) -> None:
    memory = agent.workspace / "MEMORY.md"
    memory.write_text("v1\n")
    base = services.read_working_memory(agent).content_hash
    services.write_working_memory(agent, "v2 from the admin\n", base, "admin:root")
    with pytest.raises(MemoryConflict) as conflict:
        services.write_working_memory(agent, "v2 from a stale tab\n", base, "admin:other")
    assert "MEMORY.md of agent 'ada' changed since your copy was read" in str(conflict.value)
    assert "admin:root" in str(conflict.value)
    assert memory.read_text() == "v2 from the admin\n"
    assert WorkingMemory.objects.get(agent=agent).content == "v2 from the admin\n"


@pytest.mark.django_db
def test_disk_edit_after_read_makes_the_write_a_conflict(agent: Agent) -> None:
    memory = agent.workspace / "MEMORY.md"
    memory.write_text("v1\n")
    base = services.read_working_memory(agent).content_hash
    memory.write_text("edited in vim\n")
    with pytest.raises(MemoryConflict, match="last changed by disk"):
        services.write_working_memory(agent, "from the admin\n", base, "admin:root")
    assert memory.read_text() == "edited in vim\n"


@pytest.mark.django_db(transaction=True)
def test_concurrent_stale_writes_one_wins_the_other_conflicts(agent: Agent) -> None:
    memory = agent.workspace / "MEMORY.md"
    memory.write_text("v1\n")
    base = services.read_working_memory(agent).content_hash
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def write(name: str) -> None:
        start.wait()
        try:
            services.write_working_memory(agent, f"written by {name}\n", base, name)
            outcomes[name] = "won"
        except MemoryConflict:
            outcomes[name] = "conflict"
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == ["conflict", "won"]
    winner = next(n for n, o in outcomes.items() if o == "won")
    assert memory.read_text() == f"written by {winner}\n"
    assert WorkingMemory.objects.get(agent=agent).content == f"written by {winner}\n"


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_are_all_kept(agent: Agent) -> None:
    when = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)

    def append(n: int) -> None:
        try:
            services.append_daily_log(agent, f"note {n}", when)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    text = (agent.workspace / "memory" / "2024-06-01.md").read_text()
    assert sorted(line for line in text.splitlines() if line.startswith("note")) == [
        f"note {n}" for n in range(6)
    ]


@pytest.mark.django_db
def test_failed_file_write_changes_neither_file_nor_row(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = agent.workspace / "MEMORY.md"
    memory.write_text("safe\n")
    base = services.read_working_memory(agent).content_hash

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        services.write_working_memory(agent, "lost\n", base, "admin:root")
    monkeypatch.undo()
    assert memory.read_text() == "safe\n"
    row = WorkingMemory.objects.get(agent=agent)
    assert (row.content, row.content_hash) == ("safe\n", base)
    assert services.search_memory(agent, "lost").hits == []


@pytest.mark.django_db
def test_revisions_are_bounded(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("memory.sync.REVISIONS_KEPT", 3)
    for n in range(6):
        services.write_working_memory(agent, f"v{n}\n", None, "test")
    kept = MemoryRevision.objects.filter(agent=agent, path="MEMORY.md")
    assert sorted(r.content for r in kept) == ["v2\n", "v3\n", "v4\n"]


@pytest.mark.django_db
def test_sync_all_survives_a_broken_agent(agent: Agent) -> None:
    broken = Agent.objects.create(slug="broken", name="Broken")
    broken.workspace.mkdir(parents=True)
    (broken.workspace / "MEMORY.md").symlink_to("/etc/hostname")
    (agent.workspace / "MEMORY.md").write_text("fine\n")
    reports = {r.agent: r for r in sync_all()}
    assert "broken" not in reports
    assert reports["ada"].changed == ["MEMORY.md"]


def _agent_count() -> int:
    return Agent.objects.count()


@pytest.mark.django_db(transaction=True)
async def test_watch_memory_picks_up_disk_changes(agent: Agent) -> None:
    log = agent.workspace / "memory" / "2024-06-01.md"
    await asyncio.to_thread(log.write_text, "Planted tomatoes.\n")
    task = asyncio.create_task(watch_memory(0.05))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if await database_sync_to_async(DailyLog.objects.filter(agent=agent).exists)():
                break
        hits = await database_sync_to_async(_hits)(agent, "tomatoes")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # A cancelled await leaves its ORM call running; the ORM thread runs calls in order,
        # so one more call returns only after it, before the test database is flushed.
        await database_sync_to_async(_agent_count)()
    assert hits == ["memory/2024-06-01.md"]


@pytest.mark.django_db
def test_full_text_index_and_triggers_exist_after_migrations() -> None:
    assert fts.installed(connection)


@pytest.mark.django_db
def test_chunks_follow_bulk_changes_through_triggers(agent: Agent) -> None:
    services.write_working_memory(agent, "# Memory\n\nThe password hint is zebra.\n", None, "t")
    # search_text holds the heading's terms, then one line of terms (stems) per line of text.
    MemoryChunk.objects.filter(agent=agent).update(search_text="\ngiraff")
    assert _hits(agent, "giraffe") == ["MEMORY.md"]
    assert _hits(agent, "zebra") == []
    services.reindex(agent)
    assert _hits(agent, "zebra") == ["MEMORY.md"]


def _log_text(agent: Agent, day: dt.date) -> str:
    row = DailyLog.objects.filter(agent=agent, date=day).first()
    return "" if row is None else row.content


@pytest.mark.django_db(transaction=True)
async def test_watcher_sees_an_edit_in_place_within_a_second(agent: Agent) -> None:
    """An old log edited in place changes neither memory/'s listing nor a recent file: only
    the watcher can see it, and it must, long before the hour-long backstop scan."""
    day = dt.date(2020, 1, 1)
    log = agent.workspace / "memory" / f"{day:%Y-%m-%d}.md"
    await asyncio.to_thread(log.write_text, "Planted tomatoes.\n")
    task = asyncio.create_task(watch_memory(3600))
    try:
        for _ in range(100):  # the first full pass
            await asyncio.sleep(0.02)
            if "tomatoes" in await database_sync_to_async(_log_text)(agent, day):
                break
        await asyncio.sleep(0.2)  # the watcher is watching
        with log.open("a") as handle:  # a tiny local write, like an editor's
            handle.write("Planted basil too.\n")
        loop = asyncio.get_running_loop()
        written = loop.time()
        while loop.time() - written < 1.0:
            if "basil" in await database_sync_to_async(_log_text)(agent, day):
                break
            await asyncio.sleep(0.02)
        seen_after = loop.time() - written
        hits = await database_sync_to_async(_hits)(agent, "basil")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await database_sync_to_async(_agent_count)()
    assert seen_after < 1.0
    assert hits == [f"memory/{day:%Y-%m-%d}.md"]


@pytest.mark.django_db(transaction=True)
async def test_watcher_follows_a_memory_folder_created_after_it_started(agent: Agent) -> None:
    """It watches memory/ itself, not the whole workspace: a memory/ that appears later is
    watched from then on."""
    await asyncio.to_thread((agent.workspace / "memory").rmdir)
    task = asyncio.create_task(watch_memory(3600))
    day = dt.date(2020, 1, 1)
    log = agent.workspace / "memory" / f"{day:%Y-%m-%d}.md"
    try:
        await asyncio.sleep(0.3)  # the first pass is done and the watch runs
        await asyncio.to_thread(log.parent.mkdir)
        await asyncio.to_thread(log.write_text, "Planted tomatoes.\n")
        await asyncio.sleep(0.3)  # picked up, and the watch restarted with memory/ in it
        with log.open("a") as handle:
            handle.write("Planted basil too.\n")
        loop = asyncio.get_running_loop()
        written = loop.time()
        while loop.time() - written < 1.0:
            if "basil" in await database_sync_to_async(_log_text)(agent, day):
                break
            await asyncio.sleep(0.02)
        seen_after = loop.time() - written
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await database_sync_to_async(_agent_count)()
    assert seen_after < 1.0
