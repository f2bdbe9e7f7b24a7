"""Pairing: unknown direct-message senders get a short code; an admin approves or denies it.

Synchronous services (async callers use `database_sync_to_async`); each writes an AuditEvent.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.db import IntegrityError, transaction
from django.utils import timezone

from gateway.models import ApprovedSender, ChannelAccount, PairingRequest
from gateway.policy import Decision, InboundFacts, PairingRequired, Refuse, decide
from openclaw.audit.services import Actor, actor_label, audit

# No 0/O, 1/I/L: codes are read aloud and typed from a phone screen.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
PAIRING_TTL = timedelta(hours=1)
MAX_PENDING_PER_ACCOUNT = 3

Status = PairingRequest.Status


class PairingError(Exception):
    """An approve/deny that cannot be done (unknown, already decided or expired code)."""


@dataclass(frozen=True, slots=True)
class PairingOutcome:
    """`notify` says whether the router should send `message` to the sender (a sender is told
    their code once, not on every message)."""

    status: Literal["created", "existing", "denied", "approved"]
    code: str
    expires_at: datetime | None
    message: str
    notify: bool


@dataclass(frozen=True, slots=True)
class Admission:
    """The router's answer for one inbound message: the decision and what to reply, if anything."""

    decision: Decision
    reply: str | None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def _pairing_message(code: str) -> str:
    return (
        f"Hi! I don't know you yet. Your pairing code is {code}. Ask the owner of this "
        "assistant to approve it (it is valid for 1 hour); until then your messages are not read."
    )


def expire_stale(now: datetime | None = None) -> int:
    """Mark pending requests past their expiry as expired; returns how many."""
    now = now or timezone.now()
    count = PairingRequest.objects.filter(status=Status.PENDING, expires_at__lte=now).update(
        status=Status.EXPIRED
    )
    if count:
        audit(None, "pairing.expired", "", count=count)
    return count


def is_approved(account: ChannelAccount, sender_id: str) -> bool:
    """Whether the sender was approved on this account (pairing or by hand)."""
    return ApprovedSender.objects.filter(account=account, sender_id=sender_id).exists()


def request_pairing(
    account: ChannelAccount, sender_id: str, name: str = "", *, now: datetime | None = None
) -> PairingOutcome:
    """The sender's pending code, or a new one (at most `MAX_PENDING_PER_ACCOUNT` pending per
    account: the oldest expires to make room)."""
    now = now or timezone.now()
    with transaction.atomic():
        # Serialises the pending-cap check per account: a row lock on PostgreSQL; on SQLite the
        # IMMEDIATE transaction already holds the database write lock.
        ChannelAccount.objects.select_for_update().filter(pk=account.pk).first()
        pending = PairingRequest.objects.filter(account=account, status=Status.PENDING)
        pending.filter(expires_at__lte=now).update(status=Status.EXPIRED)
        mine = pending.filter(sender_id=sender_id).first()
        if mine is not None:
            msg = _pairing_message(mine.code)
            return PairingOutcome("existing", mine.code, mine.expires_at, msg, False)
        if is_approved(account, sender_id):
            return PairingOutcome("approved", "", None, "", False)
        recently_denied = PairingRequest.objects.filter(
            account=account, sender_id=sender_id, status=Status.DENIED, expires_at__gt=now
        ).exists()
        if recently_denied:  # stay silent until the denied code would have expired
            return PairingOutcome("denied", "", None, "", False)
        # At the cap, the oldest pending code gives way: throwaway senders can push codes out
        # but never stop a new sender from getting one (one pending code per sender).
        excess = pending.count() - MAX_PENDING_PER_ACCOUNT + 1
        for oldest in pending.order_by("created_at", "pk")[: max(excess, 0)]:
            PairingRequest.objects.filter(pk=oldest.pk).update(status=Status.EXPIRED)
            audit(None, "pairing.displaced", oldest, sender=oldest.sender_id)
        request = _create_request(account, sender_id, name[:255], now)
        audit(None, "pairing.requested", request, sender=sender_id, account=str(account))
    return PairingOutcome(
        "created", request.code, request.expires_at, _pairing_message(request.code), True
    )


def _create_request(
    account: ChannelAccount, sender_id: str, name: str, now: datetime
) -> PairingRequest:
    for _ in range(5):
        try:
            with transaction.atomic():  # a savepoint: a code collision must not end the outer one
                return PairingRequest.objects.create(
                    account=account,
                    sender_id=sender_id,
                    display_name=name,
                    code=new_code(),
                    created_at=now,
                    expires_at=now + PAIRING_TTL,
                )
        except IntegrityError:
            continue  # the one-in-10^12 code collision: draw again
    raise PairingError("Could not allocate a unique pairing code.")


def _decide(code: str, actor: Actor, approve: bool) -> PairingRequest:
    now = timezone.now()
    normalised = normalise_code(code)
    expired = False
    with transaction.atomic():
        request = (
            PairingRequest.objects.select_for_update()
            .select_related("account")
            .filter(code=normalised)
            .first()
        )
        if request is None:
            raise PairingError(f"No pairing request with code {normalised!r}.")
        if request.status == Status.PENDING and request.expires_at <= now:
            request.status = Status.EXPIRED
            request.save(update_fields=["status"])
            expired = True
        elif request.status != Status.PENDING:
            raise PairingError(f"Pairing code {normalised} is already {request.status}.")
        else:
            request.status = Status.APPROVED if approve else Status.DENIED
            request.decided_by = actor_label(actor)
            request.decided_at = now
            request.save(update_fields=["status", "decided_by", "decided_at"])
            if approve:
                ApprovedSender.objects.get_or_create(
                    account=request.account,
                    sender_id=request.sender_id,
                    defaults={
                        "display_name": request.display_name,
                        "approved_by": actor_label(actor),
                    },
                )
            verb = "approved" if approve else "denied"
            audit(actor, f"pairing.{verb}", request, sender=request.sender_id)
    if expired:  # raised after the commit, so the expiry is kept
        raise PairingError(f"Pairing code {normalised} has expired; ask the sender to write again.")
    return request


def approve(code: str, actor: Actor) -> PairingRequest:
    """Approve a pending code: its sender is remembered as approved on the account."""
    return _decide(code, actor, approve=True)


def deny(code: str, actor: Actor) -> PairingRequest:
    """Deny a pending code; the sender gets no new code until this one would have expired."""
    return _decide(code, actor, approve=False)


def admit(account: ChannelAccount, inbound: InboundFacts) -> Admission:
    """Apply the account's policy to one inbound message (pairing included) for the router."""
    policy = account.policy()
    needs_lookup = not inbound.is_group and policy.dm_policy in ("pairing", "allowlist")
    approved = needs_lookup and is_approved(account, inbound.sender_id)
    decision = decide(inbound, policy, approved)
    if isinstance(decision, PairingRequired):
        outcome = request_pairing(account, inbound.sender_id, inbound.sender_name)
        return Admission(decision, outcome.message if outcome.notify else None)
    if isinstance(decision, Refuse):
        return Admission(decision, decision.message)
    return Admission(decision, None)
