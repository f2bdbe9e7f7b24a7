"""Writing the audit trail: `audit()` records who did what, in the caller's transaction."""

import logging
from typing import Any

from openclaw.audit.models import AuditEvent

logger = logging.getLogger("openclaw.audit")

# Who acted: a user (admin request), a string ("cli:alice", "system"), or None.
Actor = object


def actor_label(actor: Actor) -> str:
    """A stable text for who acted: a username survives the user's later deletion."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor[:150] or "system"
    username = getattr(actor, "get_username", None)
    if callable(username) and getattr(actor, "is_authenticated", False):
        return f"user:{username()}"[:150]
    return "anonymous"


def audit(actor: Actor, action: str, target: object = "", **detail: Any) -> AuditEvent:
    """Write one audit event (in the caller's transaction, so it commits with the change)."""
    label = actor_label(actor)
    event = AuditEvent.objects.create(
        actor=label, action=action[:64], target=str(target)[:255], detail=detail
    )
    logger.info("audit: %s %s %s", label, action, event.target)
    return event
