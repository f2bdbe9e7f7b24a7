"""Session retention: sessions idle for OPENCLAW_RETENTION_DAYS are archived (their transcript
gzipped into OPENCLAW_HOME/archive/, the row pointing at it). Memory files (MEMORY.md,
memory/*.md) are never touched. Idempotent: a run interrupted at any step is completed by the
next one. The nightly run that calls this also prunes the gateway's journal (gateway.retention)."""

import datetime as dt
import gzip
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from agents.models import Session

ARCHIVE_DIR = "archive"


@dataclass
class ArchiveReport:
    sessions_archived: int = 0
    transcripts_archived: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def archived_path(transcript_path: str) -> str:
    """Where a transcript (relative to OPENCLAW_HOME) goes: archive/<same path>.gz."""
    return f"{ARCHIVE_DIR}/{transcript_path}.gz"


def _gzip_atomic(source: Path, target: Path) -> None:
    """target = gzip(source), complete or absent: temp file, fsync, rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.tmp")
    with open(source, "rb") as raw, open(temp, "wb") as handle:
        with gzip.GzipFile(filename=source.name, mode="wb", fileobj=handle, mtime=0) as packed:
            shutil.copyfileobj(raw, packed)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)


def archive_session(session: Session, cutoff: dt.datetime) -> tuple[bool, bool]:
    """Archive one session idle since before `cutoff`: returns (the row changed, a transcript
    was moved). The status changes first, and only while the session is still idle, so a
    message arriving now opens a fresh session instead of writing to a moving file."""
    closed = Session.objects.filter(
        pk=session.pk, last_active_at__lt=cutoff, status=Session.Status.ACTIVE
    ).update(status=Session.Status.ARCHIVED)
    if not closed and session.status == Session.Status.ACTIVE:
        return False, False  # used again since it was selected
    if session.transcript_path.startswith(f"{ARCHIVE_DIR}/"):
        return bool(closed), False
    home = Path(settings.OPENCLAW_HOME)
    source, relative = home / session.transcript_path, archived_path(session.transcript_path)
    target = home / relative
    moved = source.exists()
    if moved:
        _gzip_atomic(source, target)
        source.unlink()  # only once the archive is complete; a crash before is redone next time
    if target.exists():
        Session.objects.filter(pk=session.pk).update(transcript_path=relative)
        return True, moved
    return bool(closed), moved


def archive_idle_sessions(days: int | None = None, now: dt.datetime | None = None) -> ArchiveReport:
    """Archive sessions idle for `days` (default OPENCLAW_RETENTION_DAYS; 0 = retention off)."""
    days = settings.OPENCLAW_RETENTION_DAYS if days is None else days
    report = ArchiveReport()
    if days <= 0:
        return report
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    stale = Session.objects.filter(last_active_at__lt=cutoff).exclude(
        status=Session.Status.ARCHIVED, transcript_path__startswith=f"{ARCHIVE_DIR}/"
    )
    for session in stale.iterator():
        changed, moved = archive_session(session, cutoff)
        report.sessions_archived += changed
        report.transcripts_archived += moved
    return report
