"""Exec approvals: an `exec` command waits until an admin approves or denies it, or it expires.

`request_exec_approval` and `decide_exec_approval` are sync services; `wait_for_exec_approval`
is async and wakes at once for decisions made in this process, else within one poll interval.
"""

import asyncio
import contextlib
import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gateway.models import ExecApproval
from openclaw.audit.services import Actor, actor_label, audit

logger = logging.getLogger(__name__)

Status = ExecApproval.Status
Verdict = Literal["approved", "denied", "expired"]
POLL_SECONDS = 1.0


class ApprovalError(Exception):
    """A decision that cannot be made: unknown id, already decided, or expired."""


@dataclass(frozen=True, slots=True)
class ApprovalTicket:
    id: int
    expires_at: datetime


# Waiters in this process, by approval id: (their loop, their event). A decision made on another
# thread (an admin request) sets the event through the waiter's loop.
_waiters: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}
_waiters_lock = threading.Lock()


def _wake(approval_id: int) -> None:
    with _waiters_lock:
        waiter = _waiters.get(approval_id)
    if waiter is not None:
        loop, event = waiter
        loop.call_soon_threadsafe(event.set)


def request_exec_approval(
    *,
    run_id: str,
    session_key: str,
    command: str,
    agent_slug: str = "",
    timeout: float | None = None,
) -> ApprovalTicket:
    """Record a command awaiting approval; it expires after `timeout` seconds (default
    OPENCLAW_EXEC_APPROVAL_TIMEOUT)."""
    seconds = settings.OPENCLAW_EXEC_APPROVAL_TIMEOUT if timeout is None else timeout
    now = timezone.now()
    with transaction.atomic():
        approval = ExecApproval.objects.create(
            run_id=run_id,
            session_key=session_key,
            agent_slug=agent_slug,
            command=command,  # whole: what is approved is what runs, padding and all
            command_sha256=command_hash(command),
            created_at=now,
            expires_at=now + timedelta(seconds=seconds),
        )
        audit(None, "exec.approval_requested", approval, run=run_id, session=session_key)
    return ApprovalTicket(approval.pk, approval.expires_at)


def command_hash(command: str) -> str:
    return hashlib.sha256(command.encode("utf-8")).hexdigest()


def approved_exactly(approval_id: int, command: str) -> bool:
    """True when this approval was granted for exactly `command` (its text and hash as
    recorded): a verdict never carries over to another command."""
    row = (
        ExecApproval.objects.filter(pk=approval_id, status=Status.APPROVED)
        .values_list("command", "command_sha256")
        .first()
    )
    return row is not None and row[0] == command and row[1] == command_hash(command)


def decide_exec_approval(approval_id: int, approve: bool, actor: Actor) -> ExecApproval:
    """Approve or deny a pending command. Raises ApprovalError when that is no longer possible."""
    now = timezone.now()
    with transaction.atomic():
        approval = ExecApproval.objects.select_for_update().filter(pk=approval_id).first()
        if approval is None:
            raise ApprovalError(f"No exec approval #{approval_id}.")
        if approval.status == Status.PENDING and approval.expires_at <= now:
            raise ApprovalError(f"Exec approval #{approval_id} has expired.")
        if approval.status != Status.PENDING:
            raise ApprovalError(f"Exec approval #{approval_id} is already {approval.status}.")
        approval.status = Status.APPROVED if approve else Status.DENIED
        approval.decided_by = actor_label(actor)
        approval.decided_at = now
        approval.save(update_fields=["status", "decided_by", "decided_at"])
        verb = "approved" if approve else "denied"
        audit(actor, f"exec.{verb}", approval, run=approval.run_id, command=approval.command[:200])
        transaction.on_commit(lambda: _wake(approval_id))
    return approval


def _current_status(approval_id: int) -> str:
    return ExecApproval.objects.filter(pk=approval_id).values_list("status", flat=True).first() or (
        Status.EXPIRED
    )


def expire_exec_approval(approval_id: int) -> str:
    """Mark a still-pending approval expired; returns its final status (a decision may have won)."""
    with transaction.atomic():
        updated = ExecApproval.objects.filter(pk=approval_id, status=Status.PENDING).update(
            status=Status.EXPIRED
        )
        if updated:
            audit(None, "exec.approval_expired", f"exec #{approval_id}")
    return Status.EXPIRED if updated else _current_status(approval_id)


# The deadline is part of the contract (it expires the approval in the database), not a plain
# cancellation, so it is a parameter rather than the caller's asyncio.timeout.
async def wait_for_exec_approval(approval_id: int, timeout: float) -> Verdict:  # noqa: ASYNC109
    """Wait until the approval is decided, or mark it expired after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    with _waiters_lock:
        _waiters[approval_id] = (loop, event)
    deadline = loop.time() + timeout
    try:
        while True:
            event.clear()  # before reading, so a decision landing after the read still wakes us
            status = await database_sync_to_async(_current_status)(approval_id)
            if status != Status.PENDING:
                return _verdict(status)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return _verdict(await database_sync_to_async(expire_exec_approval)(approval_id))
            # A decision in this process wakes us; one made elsewhere is seen by the next poll.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(POLL_SECONDS, remaining))
    finally:
        with _waiters_lock:
            _waiters.pop(approval_id, None)


def _verdict(status: str) -> Verdict:
    if status == Status.APPROVED:
        return "approved"
    if status == Status.DENIED:
        return "denied"
    return "expired"
