"""Admin for agents and sessions."""

from django.contrib import admin

from agents.models import Agent, Session


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin[Agent]):
    list_display = ["slug", "name", "model", "base_url", "enabled", "updated_at"]
    list_filter = ["enabled"]
    search_fields = ["slug", "name", "model"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (None, {"fields": ["slug", "name", "enabled", "instructions"]}),
        (
            "Model",
            {
                "fields": [
                    "model",
                    "base_url",
                    "api_key_env",
                    "temperature",
                    "max_output_tokens",
                    "context_window",
                ]
            },
        ),
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
        "last_active_at",
    ]
    list_filter = ["status", "channel", "agent"]
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
    ]
    date_hierarchy = "last_active_at"
