"""Retention: idle sessions' transcripts are gzipped into the archive and stay readable, old
finished journal rows go, memory files never move, and a second run changes nothing."""

import datetime as dt
import gzip
import os
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.utils import timezone

from agents.models import Agent, Session
from agents.services import open_session
from agents.transcripts import append_entries, make_entry, read_entries
from gateway.models import InboundRecord
from gateway.tasks import apply_retention
from memory import retention

pytestmark = [pytest.mark.services, pytest.mark.django_db]

NOW = timezone.now()
OLD = NOW - dt.timedelta(days=120)


@pytest.fixture
def home(settings: LazySettings, tmp_path: Path, agent: Agent) -> Path:
    settings.OPENCLAW_HOME = tmp_path
    settings.OPENCLAW_RETENTION_DAYS = 90
    return tmp_path


def _session(key: str, last_active: dt.datetime, text: str) -> Session:
    ref, _ = open_session(key)
    append_entries(Path(ref.transcript), [make_entry("message", role="user", content=text)])
    Session.objects.filter(pk=ref.pk).update(last_active_at=last_active)
    return Session.objects.get(pk=ref.pk)


def _inbound(message_id: str, status: str, received: dt.datetime) -> None:
    InboundRecord.objects.create(
        channel="telegram",
        account_id="bot",
        message_id=message_id,
        chat_id="1",
        sender_id="1",
        status=status,
        received_at=received,
    )


def test_idle_sessions_are_archived_and_stay_readable(home: Path, agent: Agent) -> None:
    idle = _session("agent:ada:idle", OLD, "remember the quokka")
    recent = _session("agent:ada:recent", NOW, "still chatting")
    original = idle.transcript_file
    report = apply_retention()
    assert report == {
        "sessions_archived": 1,
        "transcripts_archived": 1,
        "media_days_archived": 0,
        "inbound_deleted": 0,
    }
    idle.refresh_from_db()
    assert idle.status == Session.Status.ARCHIVED
    assert idle.transcript_path == f"archive/sessions/ada/{idle.session_id.hex}.jsonl.gz"
    assert not original.exists() and idle.transcript_file.exists()
    assert gzip.decompress(idle.transcript_file.read_bytes()).startswith(b'{"type":"message"')
    assert [e["content"] for e in read_entries(idle.transcript_file)] == ["remember the quokka"]
    recent.refresh_from_db()
    assert recent.status == Session.Status.ACTIVE and recent.transcript_file.exists()
    # The key opens a fresh session next time; the archived one keeps its history.
    ref, created = open_session("agent:ada:idle")
    assert created and ref.pk != idle.pk
    assert apply_retention() == {
        "sessions_archived": 0,
        "transcripts_archived": 0,
        "media_days_archived": 0,
        "inbound_deleted": 0,
    }


def test_memory_files_are_never_touched(home: Path, agent: Agent) -> None:
    memory = agent.workspace / "MEMORY.md"
    log = agent.workspace / "memory" / "2020-01-01.md"
    memory.write_text("# Memory\n")
    log.write_text("# 2020-01-01\n\n- long ago\n")
    ancient = OLD.timestamp()
    for path in (memory, log):
        os.utime(path, (ancient, ancient))
    _session("agent:ada:idle", OLD, "hello")
    apply_retention()
    assert memory.read_text() == "# Memory\n" and log.read_text() == "# 2020-01-01\n\n- long ago\n"
    assert not list((home / "archive").rglob("*.md"))


def test_old_finished_journal_rows_are_deleted(home: Path) -> None:
    _inbound("old-delivered", "delivered", OLD)
    _inbound("old-dropped", "dropped", OLD)
    _inbound("old-undelivered", "accepted", OLD)
    _inbound("new-delivered", "delivered", NOW)
    assert apply_retention()["inbound_deleted"] == 2
    left = set(InboundRecord.objects.values_list("message_id", flat=True))
    assert left == {"old-undelivered", "new-delivered"}


def test_an_interrupted_run_is_completed(home: Path) -> None:
    idle = _session("agent:ada:idle", OLD, "hello")
    # As if a run died after writing the archive and removing the original.
    target = home / retention.archived_path(idle.transcript_path)
    target.parent.mkdir(parents=True)
    target.write_bytes(gzip.compress(idle.transcript_file.read_bytes()))
    idle.transcript_file.unlink()
    apply_retention()
    idle.refresh_from_db()
    assert idle.transcript_file == target
    assert [e["content"] for e in read_entries(idle.transcript_file)] == ["hello"]


def test_zero_days_turns_retention_off(home: Path, settings: LazySettings) -> None:
    settings.OPENCLAW_RETENTION_DAYS = 0
    idle = _session("agent:ada:idle", OLD, "hello")
    _inbound("old-delivered", "delivered", OLD)
    assert apply_retention() == {
        "sessions_archived": 0,
        "transcripts_archived": 0,
        "media_days_archived": 0,
        "inbound_deleted": 0,
    }
    idle.refresh_from_db()
    assert idle.status == Session.Status.ACTIVE and idle.transcript_file.exists()
