"""Named memory files (any `memory/*.md` that is not a daily log): mirrored from disk into
`MemoryNote` rows and indexed, so search finds them. The agent writes daily logs and MEMORY.md;
these files come from the user, editors or scripts, so their rows only follow the disk."""

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from memory import files
from memory.index import index_document
from memory.models import DISK, MemoryNote


def scan_notes(agent: Agent) -> tuple[list[str], list[str]]:
    """The notes whose row differs from the file (one `scandir`, one query), and the names of
    rows whose file is gone."""
    on_disk = files.note_files(agent.workspace)
    rows = {
        name: (mtime, size, missing)
        for name, mtime, size, missing in MemoryNote.objects.filter(agent=agent).values_list(
            "name", "mtime_ns", "size", "missing"
        )
    }
    pending = [
        name
        for name in sorted(on_disk.keys() | rows.keys())
        if name not in rows or not files.is_current(rows[name], on_disk.get(name))
    ]
    return pending, sorted(f"memory/{n}" for n in rows.keys() - on_disk.keys())


def sync_note(agent: Agent, name: str) -> bool:
    """Bring one note's row and chunks to its file's state; True if its content or presence
    changed. A deleted file's row stays, marked missing, its chunks gone."""
    try:
        path = files.resolve_note(agent.workspace, name)
    except files.UnsafePath:
        return False
    state = files.read(path)
    with transaction.atomic():
        row = MemoryNote.objects.select_for_update().filter(agent=agent, name=name).first()
        if row is None:
            if state is None:
                return False
            row = MemoryNote(agent=agent, name=name, date=files.note_date(name))
        elif state is None:
            if row.missing:
                return False
            row.missing, row.mtime_ns, row.size = True, None, None
            _save(row)
            return True
        elif not row.missing and row.content_hash == state.content_hash:
            row.mtime_ns, row.size = state.mtime_ns, state.size
            row.save(update_fields=["mtime_ns", "size"])
            return False
        row.content, row.content_hash = state.content, state.content_hash
        row.mtime_ns, row.size, row.missing = state.mtime_ns, state.size, False
        _save(row)
        return True


def _save(row: MemoryNote) -> None:
    row.updated_by, row.updated_at = DISK, timezone.now()
    row.save()
    index_document(row)


def synced_note(agent: Agent, name: str) -> MemoryNote | None:
    """A note's row after picking up a change on disk (None: neither file nor row). When
    nothing changed: one `stat` and one query, as for the other memory files."""
    row = MemoryNote.objects.filter(agent=agent, name=name).first()
    if row is not None:
        try:
            info = files.stat(files.resolve_note(agent.workspace, name))
        except files.UnsafePath:
            return row  # sync_note leaves such a row as it is
        if files.is_current((row.mtime_ns, row.size, row.missing), info):
            return row
    sync_note(agent, name)
    return MemoryNote.objects.filter(agent=agent, name=name).first()
