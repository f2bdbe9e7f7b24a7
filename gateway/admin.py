"""Admin for channel accounts, approved senders, pairing requests, exec approvals and the audit
trail. Every change and every approve/deny is recorded with the admin user."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from gateway import approvals, pairing
from gateway.audit import AuditedAdminMixin, actor_label
from gateway.models import (
    ApprovedSender,
    AuditEvent,
    ChannelAccount,
    ExecApproval,
    PairingRequest,
)


def _apply(
    modeladmin: admin.ModelAdmin[Any],
    request: HttpRequest,
    items: list[Any],
    decide: Callable[[Any], object],
    errors: tuple[type[Exception], ...],
    verb: str,
) -> None:
    done, failed = 0, []
    for item in items:
        try:
            decide(item)
            done += 1
        except errors as exc:
            failed.append(str(exc))
    if done:
        modeladmin.message_user(request, f"{verb} {done}.", messages.SUCCESS)
    for message in failed:
        modeladmin.message_user(request, message, messages.WARNING)


@admin.register(ChannelAccount)
class ChannelAccountAdmin(AuditedAdminMixin, admin.ModelAdmin[ChannelAccount]):
    list_display = [
        "channel",
        "account_id",
        "name",
        "agent",
        "dm_policy",
        "group_policy",
        "require_mention",
        "enabled",
        "connection_state",
        "last_error",
    ]
    list_filter = ["channel", "dm_policy", "group_policy", "enabled", "connection_state"]
    search_fields = ["account_id", "name"]
    readonly_fields = ["connection_state", "last_error", "state_changed_at"]
    fieldsets = [
        (None, {"fields": ["channel", "account_id", "name", "agent", "enabled"]}),
        (
            "Connection",
            {
                "fields": [
                    "credentials",
                    "options",
                    "connection_state",
                    "last_error",
                    "state_changed_at",
                ],
                "description": "Credentials name environment variables; the secrets stay there. "
                "Changes apply when the gateway restarts.",
            },
        ),
        ("Direct messages", {"fields": ["dm_policy", "allow_from", "owner_ids"]}),
        (
            "Groups",
            {
                "fields": [
                    "group_policy",
                    "group_allowlist",
                    "group_sender_allowlist",
                    "require_mention",
                    "mention_patterns",
                ]
            },
        ),
        ("Rate limits", {"fields": ["rate_per_sender", "rate_per_account"]}),
    ]


@admin.register(ApprovedSender)
class ApprovedSenderAdmin(AuditedAdminMixin, admin.ModelAdmin[ApprovedSender]):
    list_display = ["sender_id", "display_name", "account", "approved_by", "approved_at"]
    list_filter = ["account"]
    search_fields = ["sender_id", "display_name"]
    readonly_fields = ["approved_by", "approved_at"]

    def save_model(
        self, request: HttpRequest, obj: ApprovedSender, form: Any, change: bool
    ) -> None:
        if not change:
            obj.approved_by = actor_label(request.user)
        super().save_model(request, obj, form, change)


@admin.register(PairingRequest)
class PairingRequestAdmin(admin.ModelAdmin[PairingRequest]):
    list_display = [
        "code",
        "account",
        "sender_id",
        "display_name",
        "status",
        "created_at",
        "expires_at",
        "decided_by",
    ]
    list_filter = ["status", "account__channel", "account"]
    search_fields = ["code", "sender_id", "display_name"]
    actions = ["approve_selected", "deny_selected"]
    readonly_fields = [f.name for f in PairingRequest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests come from senders, never from the admin

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only records: decisions go through the actions

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gateway.change_pairingrequest")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PairingRequest]:
        pairing.expire_stale()
        return super().get_queryset(request)

    @admin.action(description="Approve selected pairing requests", permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[PairingRequest]) -> None:
        _apply(
            self,
            request,
            list(queryset),
            lambda r: pairing.approve(r.code, request.user),
            (pairing.PairingError,),
            "Approved",
        )

    @admin.action(description="Deny selected pairing requests", permissions=["decide"])
    def deny_selected(self, request: HttpRequest, queryset: QuerySet[PairingRequest]) -> None:
        _apply(
            self,
            request,
            list(queryset),
            lambda r: pairing.deny(r.code, request.user),
            (pairing.PairingError,),
            "Denied",
        )


@admin.register(ExecApproval)
class ExecApprovalAdmin(admin.ModelAdmin[ExecApproval]):
    list_display = [
        "id",
        "agent_slug",
        "session_key",
        "short_command",
        "status",
        "created_at",
        "expires_at",
        "decided_by",
    ]
    list_filter = ["status", "agent_slug"]
    search_fields = ["command", "session_key", "run_id"]
    actions = ["approve_selected", "deny_selected"]
    readonly_fields = [f.name for f in ExecApproval._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only records: decisions go through the actions

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gateway.change_execapproval")

    @admin.display(description="command")
    def short_command(self, obj: ExecApproval) -> str:
        return obj.command if len(obj.command) <= 80 else obj.command[:79] + "…"

    @admin.action(description="Approve selected commands", permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[ExecApproval]) -> None:
        _apply(
            self,
            request,
            list(queryset),
            lambda a: approvals.decide_exec_approval(a.pk, True, request.user),
            (approvals.ApprovalError,),
            "Approved",
        )

    @admin.action(description="Deny selected commands", permissions=["decide"])
    def deny_selected(self, request: HttpRequest, queryset: QuerySet[ExecApproval]) -> None:
        _apply(
            self,
            request,
            list(queryset),
            lambda a: approvals.decide_exec_approval(a.pk, False, request.user),
            (approvals.ApprovalError,),
            "Denied",
        )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["created_at", "actor", "action", "target"]
    list_filter = ["action"]
    search_fields = ["actor", "action", "target"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "actor", "action", "target", "detail"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the trail is append-only
