"""Exec approvals: the run waits for an admin's decision, made in this process or another,
and a pending approval expires at its deadline."""

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from gateway import approvals
from gateway.models import ExecApproval
from openclaw.audit.models import AuditEvent

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def _request(command: str = "ls -la") -> approvals.ApprovalTicket:
    return approvals.request_exec_approval(
        run_id="run1", session_key="agent:main:main", command=command, agent_slug="main"
    )


async def test_an_approval_in_this_process_wakes_the_waiting_run_at_once() -> None:
    ticket = await database_sync_to_async(_request)()
    waiter = asyncio.create_task(approvals.wait_for_exec_approval(ticket.id, timeout=30))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    await database_sync_to_async(approvals.decide_exec_approval)(ticket.id, True, "user:root")
    assert await waiter == "approved"
    assert time.monotonic() - started < 0.5  # woken by the event, not the 1 s poll


async def test_a_decision_from_another_thread_is_seen() -> None:
    ticket = await database_sync_to_async(_request)()

    def deny_later() -> None:
        time.sleep(0.3)
        try:
            approvals.decide_exec_approval(ticket.id, False, "user:other")
        finally:
            connection.close()

    thread = threading.Thread(target=deny_later)
    thread.start()
    assert await approvals.wait_for_exec_approval(ticket.id, timeout=10) == "denied"
    thread.join()


async def test_an_undecided_approval_expires_and_cannot_be_approved_after() -> None:
    ticket = await database_sync_to_async(_request)()
    assert await approvals.wait_for_exec_approval(ticket.id, timeout=0.3) == "expired"
    status = await database_sync_to_async(lambda: ExecApproval.objects.get(pk=ticket.id).status)()
    assert status == "expired"
    with pytest.raises(approvals.ApprovalError, match="already expired"):
        await database_sync_to_async(approvals.decide_exec_approval)(ticket.id, True, "x")


def test_decisions_are_audited_and_final() -> None:
    ticket = _request("rm -rf build")
    approval = approvals.decide_exec_approval(ticket.id, True, "user:root")
    assert approval.status == "approved" and approval.decided_by == "user:root"
    event = AuditEvent.objects.get(action="exec.approved")
    assert event.actor == "user:root" and event.detail["command"] == "rm -rf build"
    with pytest.raises(approvals.ApprovalError, match="already approved"):
        approvals.decide_exec_approval(ticket.id, False, "user:root")
    with pytest.raises(approvals.ApprovalError, match="No exec approval"):
        approvals.decide_exec_approval(999_999, True, "user:root")


def test_an_approval_past_its_deadline_cannot_be_approved() -> None:
    ticket = approvals.request_exec_approval(
        run_id="r", session_key="agent:main:main", command="ls", timeout=-1
    )
    with pytest.raises(approvals.ApprovalError, match="has expired"):
        approvals.decide_exec_approval(ticket.id, True, "user:root")
