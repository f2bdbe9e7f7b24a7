"""Admin for agents, sessions, prices and usage."""

from django.contrib import admin

from agents.models import Agent, DailyUsage, ModelPrice, Session
from gateway.audit import AuditedAdminMixin


@admin.register(Agent)
class AgentAdmin(AuditedAdminMixin, admin.ModelAdmin[Agent]):
    list_display = ["slug", "name", "model", "base_url", "tool_profile", "exec_enabled", "enabled"]
    list_filter = ["enabled", "tool_profile", "exec_enabled", "queue_mode"]
    search_fields = ["slug", "name", "model"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["slug", "name", "enabled", "instructions", "timezone"]}),
        (
            "Model",
            {
                "fields": [
                    "model",
                    "base_url",
                    "api_key_env",
                    "fallback_models",
                    "temperature",
                    "max_output_tokens",
                    "context_window",
                    "daily_token_budget",
                ]
            },
        ),
        (
            "Tools and memory",
            {
                "fields": [
                    "tool_profile",
                    "tools_allow",
                    "tools_deny",
                    "exec_enabled",
                    "exec_approval",
                    "max_tool_rounds",
                    "memory_in_groups",
                ]
            },
        ),
        ("Queue", {"fields": ["queue_mode", "queue_cap"]}),
    ]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin[Session]):
    list_display = [
        "key",
        "agent",
        "channel",
        "title",
        "status",
        "turns",
        "tokens_in",
        "tokens_out",
        "cost",
        "last_active_at",
    ]
    list_filter = ["status", "channel", "agent", "is_group"]
    search_fields = ["key", "title", "peer"]
    readonly_fields = [
        "session_id",
        "transcript_path",
        "created_at",
        "last_active_at",
        "turns",
        "tokens_in",
        "tokens_out",
        "tokens_cached",
        "cost",
        "token_ratio",
    ]
    date_hierarchy = "last_active_at"


@admin.register(ModelPrice)
class ModelPriceAdmin(AuditedAdminMixin, admin.ModelAdmin[ModelPrice]):
    list_display = ["model", "input_per_mtok", "cached_input_per_mtok", "output_per_mtok"]
    search_fields = ["model"]


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin[DailyUsage]):
    list_display = ["day", "agent", "model", "turns", "prompt_tokens", "completion_tokens", "cost"]
    list_filter = ["agent", "model"]
    date_hierarchy = "day"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
