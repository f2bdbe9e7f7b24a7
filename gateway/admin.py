"""Admin for channel accounts and their bindings, approved senders, pairing requests, exec
approvals and the inbound journal. Every change and every approve/deny is recorded in the audit
trail with the admin user; the journal, written by the gateway, is read-only, and secrets are
never shown (an account's environment variables by name only)."""

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from gateway import approvals, pairing
from gateway.account_variables import account_variables
from gateway.models import (
    ApprovedSender,
    Binding,
    ChannelAccount,
    ExecApproval,
    InboundRecord,
    PairingRequest,
)
from openclaw.audit.admin import AuditedAdminMixin
from openclaw.audit.services import actor_label
from openclaw.redact import redact_text

# Option names that would hold a secret: those belong in the environment, named in credentials.
SECRET_OPTION = re.compile(r"(?i)(token|secret|password|passwd|api_?key|private)")


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


class ChannelAccountForm(forms.ModelForm[ChannelAccount]):
    def clean_options(self) -> Any:
        options = self.cleaned_data.get("options")
        if isinstance(options, dict):
            secret = sorted(k for k in options if SECRET_OPTION.search(str(k)))
            if secret:
                raise forms.ValidationError(
                    f"{', '.join(secret)} looks like a secret: put it in an environment variable "
                    "and name that variable under Credentials."
                )
        return options


@admin.register(ChannelAccount)
class ChannelAccountAdmin(AuditedAdminMixin, admin.ModelAdmin[ChannelAccount]):
    form = ChannelAccountForm
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
        "state_changed_at",
        "error",
    ]
    list_filter = ["channel", "connection_state", "enabled", "dm_policy", "group_policy", "agent"]
    list_select_related = ["agent"]
    search_fields = ["account_id", "name"]
    readonly_fields = ["connection_state", "error", "state_changed_at", "environment"]
    fieldsets = [
        (None, {"fields": ["channel", "account_id", "name", "agent", "enabled"]}),
        (
            "Connection",
            {
                "fields": [
                    "credentials",
                    "environment",
                    "options",
                    "connection_state",
                    "error",
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

    @admin.display(description="last error", ordering="last_error")
    def error(self, obj: ChannelAccount) -> str:
        return redact_text(obj.last_error)  # platform errors can quote a URL holding a token

    @admin.display(description="environment variables")
    def environment(self, obj: ChannelAccount) -> SafeString | str:
        """The variables the account uses and whether each is set in the gateway's
        environment: names only, never a value."""
        found = account_variables(obj, settings.OPENCLAW_CHANNEL_ENV)
        if not found:
            return "None named: this account uses no environment variable."
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            (
                (
                    v.name,
                    v.role,
                    ("set" if v.is_set else "not set")
                    + ("" if v.use == "used" else ": taken at the next start once set"),
                )
                for v in found
            ),
        )
        head = "<tr><th>variable</th><th>for</th><th>in the environment</th></tr>"
        return format_html("<table>{}{}</table>", SafeString(head), rows)


@admin.register(Binding)
class BindingAdmin(AuditedAdminMixin, admin.ModelAdmin[Binding]):
    """Bindings send part of an account's traffic to another agent; the most specific wins."""

    list_display = ["account", "group", "thread", "peer", "agent", "created_at"]
    list_filter = ["account", "agent"]
    list_select_related = ["account", "agent"]
    search_fields = ["peer", "group", "thread"]
    fields = ["account", "group", "thread", "peer", "agent"]


@admin.register(ApprovedSender)
class ApprovedSenderAdmin(AuditedAdminMixin, admin.ModelAdmin[ApprovedSender]):
    list_display = ["sender_id", "display_name", "account", "approved_by", "approved_at"]
    list_filter = ["account__channel", "account"]
    list_select_related = ["account"]
    search_fields = ["sender_id", "display_name", "approved_by"]
    date_hierarchy = "approved_at"
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
    list_select_related = ["account"]
    search_fields = ["code", "sender_id", "display_name"]
    date_hierarchy = "created_at"
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
    date_hierarchy = "created_at"
    actions = ["approve_selected", "deny_selected"]
    # The command is shown with configured secrets masked (a model may paste one into it).
    exclude = ["command"]
    readonly_fields = [
        "full_command" if f.name == "command" else f.name for f in ExecApproval._meta.fields
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only records: decisions go through the actions

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("gateway.change_execapproval")

    @admin.display(description="command")
    def short_command(self, obj: ExecApproval) -> str:
        command = redact_text(obj.command)
        return command if len(command) <= 80 else command[:79] + "…"

    @admin.display(description="command")
    def full_command(self, obj: ExecApproval) -> str:
        return format_html("<pre>{}</pre>", redact_text(obj.command))

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


@admin.register(InboundRecord)
class InboundRecordAdmin(admin.ModelAdmin[InboundRecord]):
    """The inbound journal: what arrived, where it went, and whether the reply was delivered."""

    list_display = [
        "received_at",
        "channel",
        "account_id",
        "sender_id",
        "chat_id",
        "session_key",
        "status",
        "delivered_chunks",
        "short_text",
    ]
    list_filter = ["status", "channel", "account_id"]
    search_fields = ["message_id", "chat_id", "sender_id", "session_key", "run_id"]
    date_hierarchy = "received_at"
    readonly_fields = [f.name for f in InboundRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # written by the router; a restart resumes what is still "accepted"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retention removes delivered rows; deleting others would lose messages

    @admin.display(description="text")
    def short_text(self, obj: InboundRecord) -> str:
        return obj.text if len(obj.text) <= 60 else obj.text[:59] + "…"
