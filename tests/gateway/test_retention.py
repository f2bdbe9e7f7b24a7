"""Journal retention: only finished rows older than the cutoff go, and the nightly task keeps
the registered name that existing beat schedules point at."""

import datetime as dt

import pytest
from django.utils import timezone

from gateway import tasks
from gateway.models import InboundRecord
from gateway.retention import prune_journal
from openclaw.celery import app

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _inbound(message_id: str, status: str, age_days: int) -> None:
    InboundRecord.objects.create(
        channel="slack",
        account_id="T1",
        message_id=message_id,
        chat_id="C1",
        sender_id="U1",
        status=status,
        received_at=NOW - dt.timedelta(days=age_days),
    )


def test_only_finished_rows_past_the_cutoff_are_pruned() -> None:
    _inbound("old-delivered", "delivered", 31)
    _inbound("old-dropped", "dropped", 31)
    _inbound("old-accepted", "accepted", 31)
    _inbound("young-delivered", "delivered", 29)
    assert prune_journal(days=30, now=NOW) == 2
    left = set(InboundRecord.objects.values_list("message_id", flat=True))
    assert left == {"old-accepted", "young-delivered"}
    assert prune_journal(days=0, now=NOW + dt.timedelta(days=365)) == 0


def test_the_retention_task_keeps_its_registered_name() -> None:
    assert app.tasks["memory.retention"].run is tasks.apply_retention.run
