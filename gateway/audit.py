"""The audit trail: `audit()` records who did what, and `AuditedAdminMixin` makes any
ModelAdmin record its additions, changes and deletions (memory and agents admins use it too)."""

import logging
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest

from gateway.models import AuditEvent

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


def _model_action(obj: models.Model, verb: str) -> str:
    return f"{obj._meta.model_name}.{verb}"


class AuditedAdminMixin:
    """Mix into a ModelAdmin: every add, change and delete also writes an AuditEvent naming
    the admin user and the changed fields (never their values: they may be sensitive)."""

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        audit(request.user, _model_action(obj, "added"), obj)
        return super().log_addition(request, obj, message)  # type: ignore[misc]  # mixin

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        changed: list[str] = []
        for item in message if isinstance(message, list) else ():
            if isinstance(item, dict) and "changed" in item:
                changed.extend(item["changed"].get("fields", []))
        audit(request.user, _model_action(obj, "changed"), obj, fields=changed)
        return super().log_change(request, obj, message)  # type: ignore[misc]  # mixin

    def log_deletions(self, request: HttpRequest, queryset: Iterable[models.Model]) -> Any:
        for obj in queryset:
            audit(request.user, _model_action(obj, "deleted"), obj, pk=obj.pk)
        return super().log_deletions(request, queryset)  # type: ignore[misc]  # mixin
