"""Disk ↔ rows: picks up changes made on disk, and writes memory under a lock with conflict
detection. The file is the truth; the row, its revisions and its chunks follow it."""

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from channels.db import database_sync_to_async
from django.db import transaction
from django.utils import timezone

from agents.models import Agent, agent_zone
from agents.services import NotFound
from memory import files, notes
from memory.embeddings import embed_pending
from memory.index import Document, index_document
from memory.models import DISK, DailyLog, MemoryRevision, WorkingMemory
from openclaw.perf import rows

logger = logging.getLogger(__name__)

# memory/'s mtime when this process last synced each workspace (mtime_ns, None: no folder).
_listings: dict[Path, int | None] = {}
REVISIONS_KEPT = 50  # per file; appends store a revision each, so the history is bounded
BATCH = 50  # files per transaction in bulk syncs and reindexes


class MemoryConflict(Exception):
    """A write based on a version of the file that is no longer the current one."""

    def __init__(self, agent_slug: str, path: str, doc: Document) -> None:
        self.agent_slug = agent_slug
        self.path = path
        when = timezone.localtime(doc.updated_at).strftime("%Y-%m-%d %H:%M:%S")
        who = doc.updated_by or "unknown"
        super().__init__(
            f"{path} of agent {agent_slug!r} changed since your copy was read (last changed by "
            f"{who} at {when}). Nothing was written: reload it, apply your change again and save."
        )


@dataclass(frozen=True, slots=True)
class WriteResult:
    path: str
    content_hash: str
    changed: bool
    content: str


@dataclass(slots=True)
class SyncReport:
    agent: str
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unchanged: int = 0


def resolve_agent(agent: Agent | str) -> Agent:
    if isinstance(agent, Agent):
        return agent
    found = rows.first_where(Agent, {"slug": agent})
    if found is None:
        raise NotFound(f"No agent {agent!r}.")
    return found


def agent_now(agent: Agent) -> dt.datetime:
    """Now in the agent's time zone."""
    return dt.datetime.now(agent_zone(agent.timezone))


def agent_today(agent: Agent) -> dt.date:
    return agent_now(agent).date()


def doc_hash(doc: Document) -> str:
    """The version a write must be based on: the file's hash, the empty hash while missing."""
    return files.EMPTY_HASH if doc.missing or not doc.content_hash else doc.content_hash


def _locked(agent: Agent, date: dt.date | None) -> Document:
    """The document's row, created if needed, locked until the transaction ends (PostgreSQL;
    SQLite's IMMEDIATE transactions already serialise writers)."""
    defaults = {"missing": True, "mtime_ns": None, "size": None}
    if date is None:
        wm, _ = WorkingMemory.objects.select_for_update().get_or_create(
            agent=agent, defaults=defaults
        )
        return wm
    log, _ = DailyLog.objects.select_for_update().get_or_create(
        agent=agent, date=date, defaults=defaults
    )
    return log


def _keep_revision(doc: Document, replaced_by: str) -> None:
    if not doc.content_hash:
        return  # a row that never had content has nothing to keep
    MemoryRevision.objects.create(
        agent_id=doc.agent_id,
        path=doc.path,
        content=doc.content,
        content_hash=doc.content_hash,
        author=doc.updated_by,
        replaced_by=replaced_by[:150],
    )
    old = MemoryRevision.objects.filter(agent_id=doc.agent_id, path=doc.path).order_by(
        "-created_at", "-id"
    )[REVISIONS_KEPT:]
    stale = list(old.values_list("id", flat=True))
    if stale:
        MemoryRevision.objects.filter(id__in=stale).delete()


def _set(doc: Document, state: files.FileState | None, actor: str) -> None:
    if state is not None:
        doc.content, doc.content_hash = state.content, state.content_hash
        doc.mtime_ns, doc.size = state.mtime_ns, state.size
    else:
        doc.mtime_ns = doc.size = None
    doc.missing = state is None
    doc.updated_by = actor[:150]
    doc.updated_at = timezone.now()
    doc.save()
    index_document(doc)


def _apply_disk(doc: Document, state: files.FileState | None) -> bool:
    """Bring the (locked) row to the file's state; True if the content or presence changed.
    A deleted file keeps its last content in the row, marked missing: never recreated here."""
    if state is None:
        if doc.missing:
            return False
        _set(doc, None, DISK)
        return True
    if not doc.missing and doc.content_hash == state.content_hash:
        if (doc.mtime_ns, doc.size) != (state.mtime_ns, state.size):
            doc.mtime_ns, doc.size = state.mtime_ns, state.size
            doc.save(update_fields=["mtime_ns", "size"])
        return False
    if doc.content_hash != state.content_hash:
        _keep_revision(doc, DISK)
    _set(doc, state, DISK)
    return True


def sync_document(agent: Agent | str, date: dt.date | None) -> bool:
    """Pick up a change on disk to one file; True if the row changed. Cheap when nothing did:
    one `stat` and one query."""
    return _sync(resolve_agent(agent), date, read_back=False)[1]


def synced_document(agent: Agent | str, date: dt.date | None) -> Document | None:
    """The row of one memory file (None: a daily log with neither file nor row), after picking
    up a change on disk. When nothing changed: one `stat` and one query (`openclaw.perf.rows`: a
    new session reads two of these before its first turn)."""
    return _sync(resolve_agent(agent), date, read_back=True)[0]


def _sync(agent: Agent, date: dt.date | None, *, read_back: bool) -> tuple[Document | None, bool]:
    """The row and whether syncing changed it; after a sync, the row is read again only when
    `read_back` (else it is the one read before)."""
    path = files.resolve(agent.workspace, date)
    info = files.stat(path)
    doc = _row(agent, date)
    if doc is not None and files.is_current((doc.mtime_ns, doc.size, doc.missing), info):
        return doc, False
    if doc is None and info is None and date is not None:
        return None, False  # no file, no row: nothing to mirror
    changed = _sync_locked(agent, date, path)
    return (_row(agent, date) if read_back else doc), changed


def _row(agent: Agent, date: dt.date | None) -> Document | None:
    if date is None:
        return rows.first_where(WorkingMemory, {"agent": agent.pk})
    return rows.first_where(DailyLog, {"agent": agent.pk, "date": date})


def _sync_locked(agent: Agent, date: dt.date | None, path: Path) -> bool:
    with transaction.atomic():
        return _apply_disk(_locked(agent, date), files.read(path))


def write_document(
    agent: Agent | str,
    date: dt.date | None,
    change: Callable[[str], str],
    *,
    base_hash: str | None,
    actor: str,
) -> WriteResult:
    """Replace a memory file with `change(current content)`, file and row together.

    `base_hash` is the version the change was based on (`doc_hash`); when it is not the
    current one the write is refused with `MemoryConflict`. None means "whatever is current"
    (appends and find-and-replace edits, which `change` applies to the current text).
    Exceptions from `change` abort the write and leave everything as it was.
    """
    agent = resolve_agent(agent)
    path = files.resolve(agent.workspace, date)
    with transaction.atomic():
        doc = _locked(agent, date)
        state = files.read(path)
        _apply_disk(doc, state)
        if base_hash is not None and base_hash != doc_hash(doc):
            raise MemoryConflict(agent.slug, doc.path, doc)
        old = "" if state is None else state.content
        new = change(old)
        if state is not None and new == old:
            return WriteResult(doc.path, doc.content_hash, False, old)
        written = files.write_atomic(path, new)
        if doc.content_hash and doc.content_hash != written.content_hash:
            _keep_revision(doc, actor)  # the current file, or the last content of a missing one
        _set(doc, written, actor)
    return WriteResult(doc.path, written.content_hash, True, new)


def scan_agent(agent: Agent | str) -> tuple[list[dt.date | None], SyncReport]:
    """Which of the agent's files differ from their rows (one `scandir`, two queries): the
    dates to sync (None is MEMORY.md), and a report of the unchanged and missing ones."""
    agent = resolve_agent(agent)
    report = SyncReport(agent.slug)
    files.remove_stale_temp_files(agent.workspace)
    pending: list[dt.date | None] = []
    working = WorkingMemory.objects.filter(agent=agent).values_list("mtime_ns", "size", "missing")
    known_wm, wm_info = working.first(), files.stat(files.resolve(agent.workspace, None))
    on_disk: dict[dt.date | None, os.stat_result] = {
        d: info for d, info in files.daily_log_dates(agent.workspace).items()
    }
    rows: dict[dt.date | None, tuple[int | None, int | None, bool]] = {
        d: (m, s, miss)
        for d, m, s, miss in DailyLog.objects.filter(agent=agent).values_list(
            "date", "mtime_ns", "size", "missing"
        )
    }
    if wm_info is not None:
        on_disk[None] = wm_info
    if known_wm is not None:
        rows[None] = known_wm
    else:
        pending.append(None)  # MEMORY.md always has a row, missing or not
    for date in sorted(on_disk.keys() | rows.keys(), key=lambda d: d or dt.date.min):
        known, info = rows.get(date), on_disk.get(date)
        if known is not None and files.is_current(known, info):
            report.unchanged += 1
        elif known is not None or info is not None:
            pending.append(date)
    report.missing = sorted(files.relpath(d) for d in rows.keys() - on_disk.keys())
    return list(dict.fromkeys(pending)), report


def sync_pending(agent: Agent | str, date: dt.date | None) -> bool:
    """Sync one file that `scan_agent` found out of date; True if its row changed."""
    agent = resolve_agent(agent)
    return _sync_locked(agent, date, files.resolve(agent.workspace, date))


def sync_agent(agent: Agent | str) -> SyncReport:
    """Mirror every memory file of the agent (MEMORY.md, daily logs, other memory/*.md);
    rows of deleted files are marked missing."""
    agent = resolve_agent(agent)
    listing, pending, named, report = _scan(agent)
    for start in range(0, len(pending), BATCH):
        with transaction.atomic():  # one commit per batch: PostgreSQL fsyncs every commit
            for date in pending[start : start + BATCH]:
                if sync_pending(agent, date):
                    report.changed.append(files.relpath(date))
                else:
                    report.unchanged += 1
    for name in named:
        if notes.sync_note(agent, name):
            report.changed.append(f"memory/{name}")
    _listings[agent.workspace] = listing
    return report


def sync_if_listing_changed(agent: Agent) -> bool:
    """The check on access: one `stat` of memory/; when a file there was created, deleted or
    renamed since this process last synced the agent, sync it all now. True if it synced."""
    known = _listings.get(agent.workspace, -1)
    if known != -1 and known == files.listing_version(agent.workspace):
        return False
    sync_agent(agent)
    return True


def sync_all() -> list[SyncReport]:
    """Sync every agent (gateway start, `manage.py memory sync`); one failing agent is logged
    and skipped, the others still sync."""
    reports = []
    for agent in Agent.objects.order_by("slug"):
        try:
            reports.append(sync_agent(agent))
        except Exception:
            logger.exception("Memory sync failed for agent %s", agent.slug)
    return reports


async def watch_memory(interval_seconds: float) -> None:
    """Forever: sync every agent's memory and embed new chunks (if embeddings are on), then
    watch the workspaces and sync an agent as soon as one of its memory files changes; the
    full pass repeats every `interval_seconds` as a backstop (new agents, missed events).
    For the gateway's supervisor; never blocks the event loop (see `_sync_agent_async`)."""
    while True:
        roots = await database_sync_to_async(_agent_roots)()
        for slug in roots:
            await _sync_logged(slug)
        await embed_pending()
        await _watch(roots, interval_seconds)


def _agent_roots() -> dict[str, Path]:
    return {agent.slug: agent.workspace for agent in Agent.objects.order_by("slug")}


async def _watch(roots: dict[str, Path], seconds: float) -> None:
    """For `seconds`: sync each agent whose memory files change, as they change."""
    existing = [root for root in roots.values() if await asyncio.to_thread(root.is_dir)]
    if not existing:
        await asyncio.sleep(seconds)
        return
    async for changed in files.changed_workspaces(existing, seconds):
        for slug in [slug for slug, root in roots.items() if root in changed]:
            await _sync_logged(slug)


async def _sync_logged(slug: str) -> None:
    try:
        await _sync_agent_async(slug)
    except Exception:
        logger.exception("Memory sync failed for agent %s", slug)


def _scan(agent: Agent | str) -> tuple[int | None, list[dt.date | None], list[str], SyncReport]:
    """memory/'s listing version, taken first (a file created during the scan changes it
    again), then the logs and the notes out of date, and the report so far."""
    agent = resolve_agent(agent)
    listing = files.listing_version(agent.workspace)
    pending, report = scan_agent(agent)
    named, missing = notes.scan_notes(agent)
    report.missing += missing
    return listing, pending, named, report


def _synced(slug: str, listing: int | None) -> None:
    # Only now: a search meanwhile must not take this listing as synced (it syncs itself).
    _listings[resolve_agent(slug).workspace] = listing


def _sync_note(slug: str, name: str) -> bool:
    return notes.sync_note(resolve_agent(slug), name)


async def _sync_agent_async(slug: str) -> None:
    # One ORM-thread call per changed file, so a `git pull` of a thousand logs never holds
    # the thread (and every consumer waiting on it) for more than one file's work.
    listing, pending, named, report = await database_sync_to_async(_scan)(slug)
    for date in pending:
        if await database_sync_to_async(sync_pending)(slug, date):
            report.changed.append(files.relpath(date))
    for name in named:
        if await database_sync_to_async(_sync_note)(slug, name):
            report.changed.append(f"memory/{name}")
    await database_sync_to_async(_synced)(slug, listing)
    if report.changed:
        logger.info("Memory of %s changed on disk: %s", slug, ", ".join(report.changed))
