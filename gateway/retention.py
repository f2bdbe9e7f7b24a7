"""Journal retention and the nightly retention run: finished inbound-journal rows (delivered or
dropped) received OPENCLAW_RETENTION_DAYS ago are deleted; rows still awaiting delivery are kept
whatever their age, so a resume after a long outage still finds them."""

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone

from agents.media.retention import archive_old_media
from gateway import journal
from memory.retention import archive_idle_sessions

logger = logging.getLogger(__name__)


def prune_journal(days: int | None = None, now: dt.datetime | None = None) -> int:
    """Delete finished journal rows received more than `days` ago (default
    OPENCLAW_RETENTION_DAYS; 0 = retention off); returns how many."""
    days = settings.OPENCLAW_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    return journal.prune_finished(cutoff)


def apply_retention(days: int | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """The nightly run: archive idle sessions (memory) and old media day folders, then prune
    the journal, with one cutoff. Returns the whole report: sessions_archived,
    transcripts_archived, media_days_archived, inbound_deleted."""
    days = settings.OPENCLAW_RETENTION_DAYS if days is None else days
    now = now or timezone.now()
    report = archive_idle_sessions(days, now).as_dict()
    report["media_days_archived"] = archive_old_media(days, now)
    report["inbound_deleted"] = prune_journal(days, now)
    if any(report.values()):
        logger.info("Retention (%d days): %s", days, report)
    return report
