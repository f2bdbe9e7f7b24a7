"""Admin for the audit trail: the read-only AuditEvent pages, and `AuditedAdminMixin`, which
makes any ModelAdmin record its additions, changes and deletions (every app's admin uses it)."""

import json
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from openclaw.audit.models import AuditEvent
from openclaw.audit.services import audit
from openclaw.redact import redact_text


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


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["created_at", "actor", "action", "target"]
    list_filter = ["action"]
    search_fields = ["actor", "action", "target"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor", "action", "target", "details"]
    readonly_fields = ["created_at", "actor", "action", "target", "details"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the trail is append-only

    @admin.display(description="detail")
    def details(self, obj: AuditEvent) -> str:
        text = json.dumps(obj.detail, indent=2, ensure_ascii=False, sort_keys=True, default=str)
        return format_html("<pre>{}</pre>", redact_text(text))
