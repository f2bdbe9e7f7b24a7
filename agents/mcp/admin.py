"""Admin for MCP servers: what each runs or reaches, its agents, its policy flags."""

from django.contrib import admin
from django.db import models

from agents.mcp.models import MCPServer
from openclaw.audit.admin import AuditedAdminMixin


@admin.register(MCPServer)
class MCPServerAdmin(AuditedAdminMixin, admin.ModelAdmin[MCPServer]):
    list_display = [
        "name",
        "transport",
        "target",
        "enabled",
        "timeout",
        "approval_required",
        "allow_in_groups",
        "allow_paired",
    ]
    list_filter = ["enabled", "transport", "approval_required", "allow_in_groups"]
    search_fields = ["name", "command", "url"]
    filter_horizontal = ["agents"]
    # A URL typed without a scheme means https (Django 6's default, asked for now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["name", "enabled", "transport", "agents"]}),
        ("stdio", {"fields": ["command", "args", "env"]}),
        ("Streamable HTTP", {"fields": ["url", "headers"]}),
        (
            "Policy",
            {"fields": ["timeout", "approval_required", "allow_in_groups", "allow_paired"]},
        ),
    ]

    @admin.display(description="runs / reaches")
    def target(self, server: MCPServer) -> str:
        return (
            " ".join([server.command, *server.args]) if server.transport == "stdio" else server.url
        )
