"""Media retention follows the transcript archive: the nightly retention run (gateway.retention)
moves each media day folder older than OPENCLAW_RETENTION_DAYS from OPENCLAW_HOME/media/ to
OPENCLAW_HOME/archive/media/ (same agent and date), where `store.resolve` still finds its files,
so a transcript entry's path stays valid. Idempotent: a run cut short is completed by the next."""

import datetime as dt
import logging
import os
import re
import shutil

from django.conf import settings
from django.utils import timezone

from agents.media.store import ARCHIVE_DIR, media_root

logger = logging.getLogger(__name__)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def archive_old_media(days: int | None = None, now: dt.datetime | None = None) -> int:
    """Move day folders older than `days` (default OPENCLAW_RETENTION_DAYS; 0 = retention off)
    into the archive; returns how many moved. A folder already in the archive (an earlier run
    cut short) is merged into it, file by file."""
    days = settings.OPENCLAW_RETENTION_DAYS if days is None else days
    root = media_root()
    if days <= 0 or not root.is_dir():
        return 0
    cutoff = ((now or timezone.now()) - dt.timedelta(days=days)).date().isoformat()
    archive = root.parent / ARCHIVE_DIR / root.name
    moved = 0
    for agent in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        for day in sorted(p for p in agent.iterdir() if p.is_dir() and not p.is_symlink()):
            if not _DAY.fullmatch(day.name) or day.name >= cutoff:
                continue
            target = archive / agent.name / day.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.replace(day, target)
            else:
                for item in day.iterdir():
                    os.replace(item, target / item.name)
                shutil.rmtree(day, ignore_errors=True)
            moved += 1
    return moved
