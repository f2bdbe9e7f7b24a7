"""Admin for agents, sessions, prices and usage."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from agents import admin_transcripts  # noqa: F401  # registers the Session admin
from agents.admin_jobs import ScheduledJobAdmin  # noqa: F401  # registers the jobs admin
from agents.models import Agent, DailyUsage, ModelPrice
from agents.scheduled_jobs import sync_heartbeats
from agents.services import ensure_workspace
from agents.skills_report import skill_rows
from agents.usage import cache_hit_rate
from openclaw.audit.admin import AuditedAdminMixin


@admin.register(Agent)
class AgentAdmin(AuditedAdminMixin, admin.ModelAdmin[Agent]):
    list_display = ["slug", "name", "model", "base_url", "tool_profile", "exec_enabled", "enabled"]
    list_filter = ["enabled", "tool_profile", "exec_enabled", "queue_mode"]
    search_fields = ["slug", "name", "model"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["skills_found"]
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
                    "reasoning_effort",
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
                    "group_tools",
                    "memory_in_groups",
                    "skills_allow",
                    "skills_deny",
                    "skills_found",
                    "image_input",
                ]
            },
        ),
        ("Queue", {"fields": ["queue_mode", "queue_cap"]}),
        ("Heartbeat", {"fields": ["heartbeat_enabled", "heartbeat_minutes"]}),
    ]

    @admin.display(description="skills")
    def skills_found(self, obj: Agent | None) -> SafeString | str:
        """Each skill of the agent as saved: where it comes from, whether the model is offered
        it, and why not (malformed, shadowed, denied, requirements not met on this host)."""
        if obj is None or obj.pk is None:
            return "Shown once the agent is saved."
        rows = skill_rows(obj.workspace, obj.skills_allow or (), obj.skills_deny or ())
        if not rows:
            return f"None: add folders with a SKILL.md to {obj.workspace / 'skills'}/."
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            ((r.name, r.source, r.status, r.detail, r.path) for r in rows),
        )
        head = "<tr><th>name</th><th>from</th><th>state</th><th>detail</th><th>path</th></tr>"
        return format_html("<table>{}{}</table>", SafeString(head), body)

    def save_model(self, request: HttpRequest, obj: Agent, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        ensure_workspace(obj)  # its file tools and bootstrap files need it from the first turn
        sync_heartbeats()  # the heartbeat job follows these settings


@admin.register(ModelPrice)
class ModelPriceAdmin(AuditedAdminMixin, admin.ModelAdmin[ModelPrice]):
    list_display = [
        "model",
        "input_per_mtok",
        "cached_input_per_mtok",
        "cache_write_per_mtok",
        "output_per_mtok",
    ]
    search_fields = ["model"]


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin[DailyUsage]):
    list_display = [
        "day",
        "agent",
        "model",
        "turns",
        "prompt_tokens",
        "cached_tokens",
        "cache_hits",
        "cache_write_tokens",
        "completion_tokens",
        "cost",
    ]
    list_filter = ["day", "agent", "model"]
    list_select_related = ["agent"]
    search_fields = ["model", "agent__slug"]
    date_hierarchy = "day"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    @admin.display(description="cache hit rate")
    def cache_hits(self, obj: DailyUsage) -> str | None:
        rate = cache_hit_rate(obj.prompt_tokens, obj.cached_tokens)
        return None if rate is None else f"{rate:.0%}"
